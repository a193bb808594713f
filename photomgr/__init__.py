"""photomgr: a local, offline photo manager with user-defined auto-tags."""

__version__ = "0.1.0"
