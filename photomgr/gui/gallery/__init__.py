"""The gallery: the grid of photos and its thumbnails, what it shows (a folder, a label, a search,
the duplicates) and in what order, and the Find-similar panel."""
