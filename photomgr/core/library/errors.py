"""Errors the library layer raises with a message meant for the user."""

from __future__ import annotations


class LibraryError(Exception):
    """The library folder or its database cannot be used (message says why and what to do)."""


class LibraryBusy(LibraryError):
    """Another process holds the library's write lock and the caller chose not to wait."""


class LibraryReadOnly(LibraryError):
    """The library can be read but not written (a read-only folder, disk or mount)."""


class LibraryFull(LibraryError):
    """The disk holding the library is full; the failed operation was rolled back."""
