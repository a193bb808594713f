"""Parse one XMP packet into keywords, a description and a rating, safely.

Untrusted input: defusedxml refuses DTDs and entity declarations (no billion laughs, no
external entities), and packets above MAX_PACKET bytes are not parsed at all.

Keywords are kept as *paths*: a tuple of names from the root of a hierarchy to its leaf.
Which separator splits a value depends on the property, because each tool defines its own:
  dc:subject, IPTC Keywords          flat: "AC/DC" is one keyword
  lr:hierarchicalSubject             "Animals|Dog"   (Lightroom, Immich, darktable)
  digiKam:TagsList                   "Animals/Dog"   (digiKam)
  MicrosoftPhoto:LastKeywordXMP      "Animals/Dog"   (Windows Photo Gallery)
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_PACKET = 4 * 1024 * 1024  # an XMP packet is kilobytes; anything near this is not one

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
MSPHOTO = "http://ns.microsoft.com/photo/1.0/"
XMP = "http://ns.adobe.com/xap/1.0/"
# photomgr's own property: the model's sentence it put into dc:description (see XmpData)
PHOTOMGR = "https://photomgr.invalid/xmp/1.0/"

# property -> the separator that splits its values into a hierarchy (None: flat)
KEYWORD_PROPERTIES: dict[tuple[str, str], str | None] = {
    (DC, "subject"): None,
    (LR, "hierarchicalSubject"): "|",
    (DIGIKAM, "TagsList"): "/",
    (MSPHOTO, "LastKeywordXMP"): "/",
}

# Roots that tools use for their own bookkeeping, not for what is in the photo.
INTERNAL_ROOTS = {"darktable"}
# photomgr writes its unconfirmed auto tags under this parent: reading them back must not turn
# a guess into a confirmed example.
AUTO_PARENT = "auto"

KeywordPath = tuple[str, ...]


class XmpError(ValueError):
    """The packet is not usable XMP (malformed, too big, or it declares entities)."""


@dataclass(frozen=True)
class XmpData:
    keywords: tuple[KeywordPath, ...] = ()  # hierarchies, root first; flat ones have one element
    description: str | None = None
    rating: int | None = None  # -1 (rejected) .. 5
    # photomgr:modelDescription: the text `xmp write` put into dc:description when it was the
    # model's sentence. A dc:description equal to it is the model's, not a person's; one that
    # differs was edited since (by the user, in some tool) and is theirs.
    model_description: str | None = None

    @property
    def empty(self) -> bool:
        return not self.keywords and self.description is None and self.rating is None


@dataclass
class _Collected:
    keywords: list[KeywordPath] = field(default_factory=list)
    description: str | None = None
    rating: int | None = None
    model_description: str | None = None


def split_keyword(value: str, separator: str | None) -> KeywordPath:
    """'Animals|Dog' -> ('Animals', 'Dog'); blanks around parts and empty parts are dropped."""
    parts = [value] if separator is None else value.split(separator)
    return tuple(p.strip() for p in parts if p.strip())


def usable(path: KeywordPath) -> bool:
    """A keyword worth a label: not empty, not a tool's bookkeeping, not our own auto guess."""
    return bool(path) and path[0] not in INTERNAL_ROOTS and not (
        len(path) > 1 and path[0] == AUTO_PARENT)


def _items(element: ET.Element) -> list[str]:
    """The values of a property element: an rdf:Bag/Seq/Alt's items, or its own text."""
    containers = [c for c in element if c.tag in (f"{{{RDF}}}Bag", f"{{{RDF}}}Seq", f"{{{RDF}}}Alt")]
    if not containers:
        text = (element.text or "").strip()
        return [text] if text else []
    out: list[str] = []
    for container in containers:
        for li in container.findall(f"{{{RDF}}}li"):
            if li.text and li.text.strip():
                out.append(li.text.strip())
    return out


def _alt_default(element: ET.Element) -> str | None:
    """An rdf:Alt's x-default item (else its first), or a plain element's text."""
    items = element.findall(f"{{{RDF}}}Alt/{{{RDF}}}li")
    if not items:
        text = (element.text or "").strip()
        return text or None
    chosen = next((li for li in items if li.get(f"{{{XML_NS}}}lang") == "x-default"), items[0])
    text = (chosen.text or "").strip()
    return text or None


def _rating(value: str) -> int | None:
    try:
        rating = round(float(value.strip()))
    except ValueError:
        return None
    return rating if -1 <= rating <= 5 else None


def _qname(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _collect(description: ET.Element, into: _Collected) -> None:
    # Simple properties may be written as attributes of rdf:Description (XMP's short form).
    for name, value in description.attrib.items():
        key = _qname(name)
        if key in KEYWORD_PROPERTIES:
            into.keywords.append(split_keyword(value, KEYWORD_PROPERTIES[key]))
        elif key == (DC, "description") and value.strip():
            into.description = value.strip()
        elif key == (XMP, "Rating"):
            into.rating = _rating(value)
        elif key == (PHOTOMGR, "modelDescription") and value.strip():
            into.model_description = value.strip()
    for child in description:
        key = _qname(child.tag)
        if key in KEYWORD_PROPERTIES:
            into.keywords.extend(split_keyword(v, KEYWORD_PROPERTIES[key]) for v in _items(child))
        elif key == (DC, "description"):
            into.description = _alt_default(child) or into.description
        elif key == (PHOTOMGR, "modelDescription"):
            into.model_description = _alt_default(child) or into.model_description
        elif key == (XMP, "Rating") and child.text:
            into.rating = _rating(child.text)


def unique(paths: Iterable[KeywordPath]) -> tuple[KeywordPath, ...]:
    """Paths in first-seen order, without repeats (case-insensitive) and without unusable ones."""
    seen: set[tuple[str, ...]] = set()
    out: list[KeywordPath] = []
    for path in paths:
        key = tuple(p.casefold() for p in path)
        if usable(path) and key not in seen:
            seen.add(key)
            out.append(path)
    return tuple(out)


def _text(data: bytes | str) -> bytes | str:
    """XMP must be Unicode, but some writers put Latin-1 bytes in packets that claim UTF-8
    (exiftool reads them as Latin-1 too); bytes that are valid UTF-8 are left to the parser."""
    if isinstance(data, str) or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        if text.startswith("<?xml"):  # a str must not carry an encoding declaration
            text = text[text.find("?>") + 2:] if "?>" in text else text
        return text
    return data


def parse_packet(data: bytes | str) -> XmpData:
    """Keywords, description and rating of one XMP packet (an x:xmpmeta or rdf:RDF document)."""
    if len(data) > MAX_PACKET:
        raise XmpError(f"XMP packet of {len(data):,} bytes is over the {MAX_PACKET:,}-byte limit")
    try:
        root = fromstring(_text(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise XmpError(f"not usable XMP: {exc}") from exc
    into = _Collected()
    for description in _descriptions(root):
        _collect(description, into)
    return XmpData(unique(into.keywords), into.description, into.rating, into.model_description)


def _descriptions(root: ET.Element) -> Iterator[ET.Element]:
    yield from root.iter(f"{{{RDF}}}Description")


def combine(parts: Iterable[XmpData]) -> XmpData:
    """Several sources of one photo (embedded, IPTC, sidecars), least to most authoritative:
    keywords are united; description and rating come from the last source that has one."""
    keywords: list[KeywordPath] = []
    description: str | None = None
    rating: int | None = None
    model_description: str | None = None
    for part in parts:
        keywords.extend(part.keywords)
        if part.description is not None:  # its photomgr mark comes from the same source
            description, model_description = part.description, part.model_description
        rating = part.rating if part.rating is not None else rating
    return XmpData(unique(keywords), description, rating, model_description)


def property_items(data: bytes | str, namespace: str, local: str) -> list[str]:
    """Every value of one list property across the packet's rdf:Descriptions, in order
    (attribute short form included). Used by the sidecar merge to know what is there."""
    root = fromstring(_text(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    out: list[str] = []
    for description in _descriptions(root):
        value = description.get(f"{{{namespace}}}{local}")
        if value is not None and value.strip():
            out.append(value.strip())
        for child in description.findall(f"{{{namespace}}}{local}"):
            out.extend(_items(child))
    return out
