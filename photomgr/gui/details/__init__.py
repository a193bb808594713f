"""The details panel: the selected photo's preview, its description, its tags and its facts."""
