"""The photo viewer: one photo large, upright and fitted, with zoom, next/previous and its tags."""
