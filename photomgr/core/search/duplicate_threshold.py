"""The default of Duplicates' one user setting, in a module of its own so that the GUI can show
it without importing the search machinery (faiss) at start-up."""

# Image-vector cosine at or above which two photos are near-identical shots (a burst, an edit).
# Crops, resizes and re-saves are found by the near-copy check instead, whatever their cosine
# (0.5-0.95 on Caltech dev), see photomgr/core/search/duplicates.py.
DUPLICATE_THRESHOLD = 0.95
