"""The library's folders in the window: watching them for changes, and removing one."""
