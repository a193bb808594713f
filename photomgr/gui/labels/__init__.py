"""Labels in the window: the label editor and undoable label edits and tag decisions."""
