"""The main window and its frame: menus, sidebar, status bar, banner, welcome page, model offer, help."""
