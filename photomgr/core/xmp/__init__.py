"""Keywords that travel: reading XMP/IPTC keywords from photos and sidecars, writing sidecars.

Qt-free and SQL-free: `parse` turns an XMP packet into keywords, `embedded` finds packets and
IPTC records inside image files, `sidecar` finds and signs a photo's sidecars, `merge` writes a
sidecar without disturbing what other tools put in it. The library side lives in
core/library/keywords.py, the operations in core/ops/interop.py.
"""
