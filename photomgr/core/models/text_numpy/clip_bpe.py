"""CLIP's byte-level BPE tokenizer without torch or open_clip imported: the same token ids as
open_clip's SimpleTokenizer (tests/core/models/test_text_numpy_clip.py compares them).

The merges file is the one open_clip ships (`bpe_simple_vocab_16e6.txt.gz`), found through the
import system's spec of the package, which locates it without running open_clip's __init__
(that imports torch). Text is cleaned as open_clip's default "lower" cleaning does: ftfy's
fix_text, HTML entities unescaped twice, whitespace collapsed, lower case.
"""

from __future__ import annotations

import gzip
import html
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from photomgr.core.models.base import ModelUnavailable

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2  # the vocabulary: 256 bytes, 256 bytes + "</w>", merges, 2 specials
START, END = "<start_of_text>", "<end_of_text>"
CONTEXT_LENGTH = 77
# Contractions, runs of letters, single digits, runs of anything else but spaces; case-insensitive
_PATTERN = (rf"{START}|{END}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+")


def vocab_file() -> Path:
    """open_clip's merges file, located without importing open_clip."""
    from importlib.util import find_spec

    spec = find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("open_clip is not installed; CLIP needs it (pip install open_clip_torch)")
    path = Path(next(iter(spec.submodule_search_locations))) / VOCAB_FILE
    if not path.is_file():
        raise ModelUnavailable(f"open_clip's tokenizer vocabulary is missing ({path}); "
                               "reinstall open_clip_torch")
    return path


_PRINTABLE = (*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1))


@lru_cache(maxsize=1)
def byte_symbols() -> tuple[str, ...]:
    """A printable character for each byte value (GPT-2's table): bytes that are printable
    Latin-1 stand for themselves, the others are moved to code points from 256 up, in order."""
    table: dict[int, int] = {b: b for b in _PRINTABLE}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = 256 + extra
            extra += 1
    return tuple(chr(table[b]) for b in range(256))


def base_vocab() -> list[str]:
    """The 256 single-byte symbols in vocabulary order: the printable bytes first."""
    symbols = byte_symbols()
    printable = set(_PRINTABLE)
    return [symbols[b] for b in _PRINTABLE] + [symbols[b] for b in range(256) if b not in printable]


def _plain(text: str) -> bool:
    """Text that ftfy would leave as it is: printable ASCII and ordinary whitespace, no HTML
    entity (ftfy would unescape one once more than html.unescape twice does)."""
    return text.isascii() and "&" not in text and all(c.isprintable() or c in " \t\n\r" for c in text)


def clean(text: str) -> str:
    """open_clip's "lower" cleaning. ftfy (an open_clip dependency, ~0.3 s to import) only
    runs for text it could change."""
    if not _plain(text):
        import ftfy

        text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


class ClipTokenizer:
    """Texts -> (n, 77) int64 token ids, like open_clip.get_tokenizer("ViT-B-32"). Thread-safe."""

    def __init__(self, path: Path | None = None, context_length: int = CONTEXT_LENGTH) -> None:
        import regex

        lines = gzip.decompress((path or vocab_file()).read_bytes()).decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1:N_MERGES + 1]]
        symbols = base_vocab()
        vocab = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), START, END]
        self.ids = {token: i for i, token in enumerate(vocab)}
        self.ranks = {(m[0], m[1]): i for i, m in enumerate(merges) if len(m) == 2}
        self.start_id, self.end_id = self.ids[START], self.ids[END]
        self.context_length = context_length
        self._pattern = regex.compile(_PATTERN, regex.IGNORECASE)
        self._bytes = byte_symbols()
        self._cache: dict[str, tuple[int, ...]] = {START: (self.start_id,), END: (self.end_id,)}
        self._lock = threading.Lock()

    def _merge(self, word: str) -> tuple[int, ...]:
        """BPE of one pre-token (already byte-mapped): repeatedly join the adjacent pair of
        lowest merge rank, every occurrence left to right, until no pair has a rank."""
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            best = min(range(len(parts) - 1),
                       key=lambda i: self.ranks.get((parts[i], parts[i + 1]), N_MERGES + 1))
            pair = (parts[best], parts[best + 1])
            if pair not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == pair:
                    merged.append(pair[0] + pair[1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(self.ids[p] for p in parts)

    def encode(self, text: str) -> list[int]:
        """The ids of a text, without start/end tokens and without truncation."""
        out: list[int] = []
        for piece in self._pattern.findall(clean(text)):
            cached = self._cache.get(piece)
            if cached is None:
                cached = self._merge("".join(self._bytes[b] for b in piece.encode("utf-8")))
                with self._lock:
                    if len(self._cache) < 100_000:  # bounded: a long-running GUI sees many queries
                        self._cache[piece] = cached
            out.extend(cached)
        return out

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """(n, context_length) ids: start, text, end, zero padding; a text too long is cut and
        still ends with the end token (the tower pools at the end token)."""
        out = np.zeros((len(texts), self.context_length), np.int64)
        for row, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text), self.end_id][:self.context_length]
            ids[-1] = self.end_id
            out[row, :len(ids)] = ids
        return out
