"""Where the files the project ships (trained heads, derived tables) are found."""

from __future__ import annotations

from pathlib import Path


def resources_dir() -> Path:
    """The repository's top-level resources/ folder (next to the photomgr package)."""
    return Path(__file__).resolve().parents[3] / "resources"
