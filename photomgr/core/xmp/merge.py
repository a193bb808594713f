"""Write a photo's keywords into its XMP sidecar without disturbing anything else in it.

The merge works on the text, not on a re-serialised tree: only the elements photomgr owns
(dc:subject, lr:hierarchicalSubject, digiKam:TagsList, dc:description when we have one) are
replaced or inserted, so every other byte another tool wrote -- its develop settings, its
namespaces, its formatting -- survives exactly. A sidecar that does not parse as XMP is left
alone (an error), never overwritten. The result is re-parsed before it is written, and it is
written atomically (a temporary file in the same folder, then os.replace).

Entries photomgr does not manage (keywords whose leaf is not one of its labels) are kept in
their order. Auto tags, when asked for, go under the AUTO_PARENT hierarchy only
("auto|beach"), never into flat dc:subject, so no reader mistakes a guess for a keyword.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from photomgr.core.xmp.parse import (
    AUTO_PARENT,
    DC,
    DIGIKAM,
    LR,
    MAX_PACKET,
    PHOTOMGR,
    RDF,
    KeywordPath,
    XmpError,
    parse_packet,
    property_items,
    split_keyword,
)

PREFERRED_PREFIX = {DC: "dc", LR: "lr", DIGIKAM: "digiKam", RDF: "rdf", PHOTOMGR: "photomgr"}
EMPTY_SIDECAR = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="photomgr">\n'
    f' <rdf:RDF xmlns:rdf="{RDF}">\n'
    '  <rdf:Description rdf:about="">\n'
    '  </rdf:Description>\n'
    ' </rdf:RDF>\n'
    '</x:xmpmeta>\n'
)


@dataclass(frozen=True)
class SidecarContent:
    """What photomgr says about one photo."""

    keywords: Sequence[KeywordPath]  # confirmed tags, with the hierarchy they came with
    auto: Sequence[str] = ()  # auto tags above threshold (written only when the user asks)
    # None: leave any existing description alone, unless `replaceable` names it (then it goes)
    description: str | None = None
    managed: frozenset[str] = field(default_factory=frozenset)  # casefolded names of all labels
    # The existing descriptions `description` may replace (besides none at all); None: any.
    # Another tool's description that photomgr has not read yet is not photomgr's to overwrite.
    replaceable: frozenset[str] | None = None
    description_is_model: bool = False  # `description` is the model's sentence, not the user's

    def may_replace(self, existing: str | None) -> bool:
        return existing is None or self.replaceable is None or existing.strip() in self.replaceable


class SidecarError(ValueError):
    """An existing sidecar photomgr will not touch (unreadable, not XMP, too big)."""


def _fold(path: Sequence[str]) -> tuple[str, ...]:
    return tuple(p.casefold() for p in path)


def merged_list(existing: list[str], separator: str | None, content: SidecarContent) -> list[str]:
    """The new values of one keyword property: unmanaged entries kept in place, ours updated."""
    wanted = list(content.keywords)
    if separator is None:
        wanted = [(k[-1],) for k in wanted]  # a flat property gets the leaf (the label's name)
    else:  # a hierarchy lists full paths: "Animals" is implied by "Animals|Dog" (as Lightroom)
        # A name holding this property's separator has no spelling in it ("AC/DC" in digiKam's
        # TagsList reads back as AC ▸ DC, a label "DC"): dc:subject and the other hierarchy carry it.
        wanted = [k for k in wanted if not any(separator in part for part in k)]
        folded = [_fold(k) for k in wanted]
        wanted = [k for k, f in zip(wanted, folded, strict=True)
                  if not any(len(o) > len(f) and o[:len(f)] == f for o in folded)]
    managed = content.managed | {k[-1].casefold() for k in wanted}
    wanted_keys = {_fold(k) for k in wanted}
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for value in existing:
        path = split_keyword(value, separator)
        key = _fold(path)
        if not path or key in seen:
            continue
        if separator is not None and len(path) > 1 and path[0] == AUTO_PARENT:
            continue  # our own auto tags: recomputed below
        if path[-1].casefold() in managed and key not in wanted_keys:
            continue  # a label this photo no longer carries
        seen.add(key)
        out.append(value)
    for path in wanted:
        if _fold(path) not in seen:
            seen.add(_fold(path))
            out.append(path[0] if separator is None else separator.join(path))
    if separator is not None:
        for name in content.auto:
            if separator not in name:  # as above: the other hierarchy has it
                out.append(separator.join((AUTO_PARENT, name)))
    return out


def _prefix_for(text: str, namespace: str) -> str | None:
    m = re.search(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']' + re.escape(namespace) + r'["\']', text)
    return m.group(1) if m else None


def _element_span(text: str, qname: str) -> tuple[int, int] | None:
    q = re.escape(qname)
    m = re.search(rf"<{q}(\s[^>]*)?/>|<{q}(\s[^>]*)?>.*?</{q}\s*>", text, re.DOTALL)
    return (m.start(), m.end()) if m else None


def _attribute_span(text: str, qname: str) -> tuple[int, int] | None:
    m = re.search(rf"\s{re.escape(qname)}\s*=\s*(\"[^\"]*\"|'[^']*')", text)
    return (m.start(), m.end()) if m else None


def _line_indent(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    m = re.match(r"[ \t]*", text[start:pos])
    return m.group(0) if m else ""


def _render_list(qname: str, rdf: str, container: str, values: list[str], indent: str) -> str:
    lines = [f"<{qname}>", f"{indent} <{rdf}:{container}>"]
    lines += [f"{indent}  <{rdf}:li>{escape(v)}</{rdf}:li>" for v in values]
    lines += [f"{indent} </{rdf}:{container}>", f"{indent}</{qname}>"]
    return "\n".join(lines)


def _render_alt(qname: str, rdf: str, value: str, indent: str) -> str:
    return "\n".join([f"<{qname}>", f"{indent} <{rdf}:Alt>",
                      f'{indent}  <{rdf}:li xml:lang="x-default">{escape(value)}</{rdf}:li>',
                      f"{indent} </{rdf}:Alt>", f"{indent}</{qname}>"])


class _Editor:
    """Text surgery on one packet: replace, remove or insert property elements."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.rdf = _prefix_for(text, RDF) or "rdf"

    def prefix(self, namespace: str) -> str:
        found = _prefix_for(self.text, namespace)
        if found is not None:
            return found
        prefix = PREFERRED_PREFIX[namespace]
        start = self._description_start()
        tag_end = self.text.index(">", start)
        if self.text[tag_end - 1] == "/":
            tag_end -= 1
        self.text = f'{self.text[:tag_end]}\n   xmlns:{prefix}="{namespace}"{self.text[tag_end:]}'
        return prefix

    def _description_start(self) -> int:
        m = re.search(rf"<{re.escape(self.rdf)}:Description[\s>/]", self.text)
        if m is None:  # no rdf:Description at all: add an empty one to rdf:RDF
            close = self.text.find(f"</{self.rdf}:RDF>")
            if close < 0:
                raise SidecarError("no rdf:RDF element to add keywords to")
            indent = _line_indent(self.text, close)
            block = f'{indent} <{self.rdf}:Description rdf:about="">\n{indent} </{self.rdf}:Description>\n'
            line_start = self.text.rfind("\n", 0, close) + 1
            self.text = self.text[:line_start] + block + self.text[line_start:]
            return self._description_start()
        return m.start()

    def _insert_point(self) -> tuple[int, str]:
        """Where a new property goes (before the first rdf:Description's end) and its indent."""
        start = self._description_start()
        tag_end = self.text.index(">", start)
        if self.text[tag_end - 1] == "/":  # <rdf:Description .../>: open it up
            indent = _line_indent(self.text, start)
            self.text = (f"{self.text[:tag_end - 1]}>\n{indent}</{self.rdf}:Description>"
                         f"{self.text[tag_end + 1:]}")
            tag_end -= 1
        close = self.text.index(f"</{self.rdf}:Description", tag_end)
        indent = _line_indent(self.text, close) + " "
        line_start = self.text.rfind("\n", 0, close) + 1
        if self.text[line_start:close].strip():  # the end tag shares its line: insert right there
            return close, indent
        return line_start, indent

    def set(self, namespace: str, local: str, render: str | None) -> None:
        """Replace the property's element (or attribute) with `render`; None removes it."""
        prefix = self.prefix(namespace) if render is not None else _prefix_for(self.text, namespace)
        if prefix is None:
            return
        qname = f"{prefix}:{local}"
        attr = _attribute_span(self.text, qname)
        if attr is not None:
            self.text = self.text[:attr[0]] + self.text[attr[1]:]
        span = _element_span(self.text, qname)
        if span is not None:
            indent = _line_indent(self.text, span[0])
            if render is None:
                line_start = self.text.rfind("\n", 0, span[0]) + 1
                start = line_start if not self.text[line_start:span[0]].strip() else span[0]
                end = span[1] + 1 if self.text[span[1]:span[1] + 1] == "\n" else span[1]
                self.text = self.text[:start] + self.text[end:]
            else:
                self.text = self.text[:span[0]] + render.replace("\0", indent) + self.text[span[1]:]
            return
        if render is not None:
            at, indent = self._insert_point()
            block = indent + render.replace("\0", indent) + "\n"
            if at > 0 and self.text[at - 1] != "\n":
                block = "\n" + block
            self.text = self.text[:at] + block + self.text[at:]

    def container(self, namespace: str, local: str, default: str) -> str:
        """Keep the list type the existing element uses (darktable writes rdf:Seq)."""
        prefix = _prefix_for(self.text, namespace)
        if prefix is None:
            return default
        span = _element_span(self.text, f"{prefix}:{local}")
        if span is None:
            return default
        m = re.search(rf"<{re.escape(self.rdf)}:(Bag|Seq)[\s>]", self.text[span[0]:span[1]])
        return m.group(1) if m else default


LIST_PROPERTIES = ((DC, "subject", None), (LR, "hierarchicalSubject", "|"), (DIGIKAM, "TagsList", "/"))


def render_sidecar(existing: str | None, content: SidecarContent) -> str:
    """The sidecar's new text (`existing` unchanged when nothing photomgr owns changed)."""
    text = existing if existing is not None else EMPTY_SIDECAR
    try:
        before = parse_packet(text)
    except XmpError as exc:
        raise SidecarError(str(exc)) from exc
    editor = _Editor(text)
    changed = existing is None
    for namespace, local, separator in LIST_PROPERTIES:
        old = property_items(text, namespace, local)
        new = merged_list(old, separator, content)
        if new == old:
            continue
        changed = True
        if not new:
            editor.set(namespace, local, None)
            continue
        container = editor.container(namespace, local, "Bag")
        prefix = editor.prefix(namespace)
        editor.set(namespace, local, _render_list(f"{prefix}:{local}", editor.rdf, container, new, "\0"))
    if content.description is None and content.replaceable is not None \
            and before.description is not None and before.description.strip() in content.replaceable:
        # photomgr has no description for the photo any more (the user cleared theirs) and the
        # sidecar holds one photomgr knows (its own, or one it read and the user since cleared):
        # it goes, as a tag the user cleared leaves the keywords. Was: left in place, and read
        # back as the user's description by the next read into another library.
        changed = True
        editor.set(DC, "description", None)
        editor.set(PHOTOMGR, "modelDescription", None)
    if content.description is not None and content.description != before.description \
            and content.may_replace(before.description):
        changed = True
        prefix = editor.prefix(DC)
        editor.set(DC, "description", _render_alt(f"{prefix}:description", editor.rdf,
                                                  content.description, "\0"))
    if content.description is not None and content.may_replace(before.description):
        # Mark the model's sentence as such (XmpData.model_description): read back into a
        # library that has no model sentence for the photo (descriptions off, another
        # captioner, a new library), it was taken for the user's and no model replaced it.
        mark = content.description if content.description_is_model else None
        if mark != before.model_description:
            changed = True
            render = None
            if mark is not None:
                qname = f"{editor.prefix(PHOTOMGR)}:modelDescription"
                render = f"<{qname}>{escape(mark)}</{qname}>"
            editor.set(PHOTOMGR, "modelDescription", render)
    if not changed:
        return text
    try:
        parse_packet(editor.text)  # never write what we could not read back
    except XmpError as exc:
        raise SidecarError(f"merging would damage the sidecar ({exc}); left unchanged") from exc
    return editor.text


def read_text(path: Path) -> str | None:
    """An existing sidecar's text (None: there is none); refuses what it must not rewrite."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PACKET + 1)
    except FileNotFoundError:
        return None
    if len(data) > MAX_PACKET:
        raise SidecarError(f"{path.name} is over {MAX_PACKET:,} bytes; left unchanged")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SidecarError(f"{path.name} is not UTF-8 text; left unchanged") from exc


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and os.replace, so a
    reader (or a crash) sees the old sidecar or the new one, never half of one."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_sidecar(path: Path, content: SidecarContent) -> bool:
    """Merge `content` into the sidecar at `path` (created if absent). True if it was written."""
    existing = read_text(path)
    text = render_sidecar(existing, content)
    if existing is not None and text == existing:
        return False
    write_atomically(path, text)
    return True
