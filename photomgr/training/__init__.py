"""Training of the default model's projection heads (not imported by the app at run time)."""
