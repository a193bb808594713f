"""The default model's ids and versions, importable without torch (GUI thread, `labels list`)."""

from __future__ import annotations

# The stored photo vectors (image = pooled feature, label = ImageNet probabilities, instance):
# bumped whenever any stored column would change (v2: instance vectors added).
VECTORS_VERSION = 2
STORED_ID = f"default:efficientnet_lite0-imagenet+minilm-l6:v{VECTORS_VERSION}"
# The trained heads and fusion constants (resources/default_heads.safetensors). They change label
# vectors and the scoring space but not the stored columns, so a library adopts the rows stored
# under an older id of the same VECTORS_VERSION without decoding a photo (see ADOPTS).
# h2: h1's heads, fusion centred on a reference sample, per-label constants; h3: h2's heads, a
# label's name embedded as the mean of itself and "a photo of a {}.", fusion refitted
HEADS_VERSION = "h3"
MODEL_ID = f"{STORED_ID}+{HEADS_VERSION}"
# Model ids whose stored rows are exactly this model's stored rows.
ADOPTS = (STORED_ID, f"{STORED_ID}+h1", f"{STORED_ID}+h2")
# Ids whose photos' label space has the heads layout [probs | image head | 1 | 0]: h1, h2 and h3
# share the image head (h2 and h3 changed only the label side), so a library still on h1 or h2
# (not yet re-indexed since an upgrade) scores its stored label vectors in the same space
# instead of failing. A heads version with a new image head must keep the old one for these.
FUSED_LAYOUT_IDS = (MODEL_ID, f"{STORED_ID}+h1", f"{STORED_ID}+h2")
N_CLASSES = 1000
