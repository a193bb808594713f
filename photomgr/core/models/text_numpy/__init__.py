"""Text encoders in plain numpy: label texts and search queries without importing torch.

`photomgr labels add` and `photomgr search` embed a handful of short texts. Importing torch and
building a model for that costs seconds and hundreds of MB, most of it before the first matrix
product; the forward passes themselves take milliseconds. These modules run the same networks
(MiniLM for the default model, CLIP's text tower) with numpy on the same weights, checked
against the torch implementations in tests/core/models/test_text_numpy_*.py.
"""
