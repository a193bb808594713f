"""Errors the library layer raises with a message meant for the user."""

from __future__ import annotations


class LibraryError(Exception):
    """The library folder or its database cannot be used (message says why and what to do)."""
