"""XLIFF 1.2 and 2.0: the content of each ``<source>`` with Chinese in it is
a part, its inline elements (``<g>``, ``<x/>``, ``<ph>``, ``<bpt>/<ept>``,
``<pc>``, ``<mrk>`` ...) codes kept as they are; the translation goes into
``<target>``, with the state of a draft (1.2: ``needs-review-translation``,
2.0: ``translated``) or of an approved unit (``final``), and the file
says ``en`` is its target language. Ids, notes and everything else stay.

lxml reads and writes the file: XLIFF is XML, whose meaning (not its
bytes) is what other tools read, and the OASIS schemas check the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from ..data import Document, Part
from ..errors import ZhenError
from ..han import HAN
from ..protect import code_spans
from ..textio import decode_raw, printable
from ..tmx import has_entity
from .base import Source, Translated

XLIFF_1 = "urn:oasis:names:tc:xliff:document:1.2"
XLIFF_2 = "urn:oasis:names:tc:xliff:document:2.0"


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    text, used = decode_raw(data, encoding, source=str(path))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise ZhenError(f"{path} is not well-formed XML ({err}); nothing was written") from None
    namespace = etree.QName(root).namespace
    if namespace not in (XLIFF_1, XLIFF_2):
        raise ZhenError(f"{path} is not XLIFF 1.2 or 2.0 (its root is {root.tag}); nothing was written")
    sources = [(source, key) for source, key in _sources(root, namespace) if HAN.search(_inner(source))]
    parts = tuple(Part(_inner(source), source.sourceline or 1, key) for source, key in sources)
    document = Document(printable(path.as_posix()), path.stem, text, used, "xliff", parts)

    def render(translated: Sequence[Translated]) -> bytes:
        _set_target_language(root, namespace)
        for (source, _), translation in zip(sources, translated, strict=True):
            _write_target(source, namespace, translation)
        # The file's own prolog (declaration, comments) and final line end, as they were.
        name = f"{root.prefix}:{etree.QName(root).localname}" if root.prefix else etree.QName(root).localname
        start = re.search(rf"<{re.escape(name)}[\s>/]", text)
        prolog = text[: start.start()] if start else ""
        ending = "\n" if text.endswith("\n") else ""
        return (prolog + etree.tostring(root, encoding="unicode") + ending).encode(used)

    return Source(document, render)


def _sources(root: etree._Element, namespace: str) -> list[tuple[etree._Element, str]]:
    """Each ``<source>`` to translate, and its unit's id; none under ``translate="no"``."""
    unit = "trans-unit" if namespace == XLIFF_1 else "unit"
    found = []
    for element in root.iter(f"{{{namespace}}}{unit}"):
        if any(a.get("translate") == "no" for a in (element, *element.iterancestors())):
            continue
        sources = (
            element.findall(f"{{{namespace}}}source")
            if namespace == XLIFF_1
            else element.findall(f"{{{namespace}}}segment/{{{namespace}}}source")
        )
        # An entity reference (declared in the file, never expanded): its text is unknown.
        found += [(source, element.get("id", "")) for source in sources if not has_entity(source)]
    return found


def _inner(element: etree._Element) -> str:
    """The element's content as XML, inline elements written as in the file
    (without the namespace declarations a detached copy would get)."""
    written = etree.tostring(element, encoding="unicode", with_tail=False)
    start = written.index(">") + 1
    if written.endswith("/>") and start == len(written):
        return ""
    return written[start : written.rindex("</")]


def _write_target(source: etree._Element, namespace: str, translation: Translated) -> None:
    target = _target_from(translation.text, namespace)
    existing = source.getparent().find(f"{{{namespace}}}target")
    if existing is not None:
        target.attrib.update({k: v for k, v in existing.attrib.items() if k != "state"})
        existing.getparent().replace(existing, target)
    else:  # right after the source (1.2: after its <seg-source>, if any)
        following = source.getnext()
        segmented = following is not None and isinstance(following.tag, str) and following.tag.endswith("}seg-source")
        before = following if segmented else source
        previous = source.getprevious()
        indent = (previous.tail if previous is not None else source.getparent().text) or ""
        target.tail, before.tail = before.tail, indent  # on a line of its own, indented as its source
        before.addnext(target)
    state = "final" if translation.approved else ("needs-review-translation" if namespace == XLIFF_1 else "translated")
    if namespace == XLIFF_1:
        target.set("state", state)
    else:
        source.getparent().set("state", state)  # XLIFF 2.0 keeps the state on <segment>


def _target_from(translation: str, namespace: str) -> etree._Element:
    """``<target>`` holding ``translation``: its codes are XML from the source,
    the rest text, escaped (a model may write ``&`` or ``<``)."""
    pieces, at = [], 0
    for start, end in code_spans(translation):
        pieces += [_escape(translation[at:start]), translation[start:end]]
        at = end
    pieces.append(_escape(translation[at:]))
    try:
        return etree.fromstring(f'<target xmlns="{namespace}">{"".join(pieces)}</target>')
    except etree.XMLSyntaxError:  # codes that are not XML after all: the text alone, escaped
        target = etree.Element(f"{{{namespace}}}target")
        target.text = translation
        return target


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _set_target_language(root: etree._Element, namespace: str) -> None:
    if namespace == XLIFF_1:
        for file in root.iter(f"{{{namespace}}}file"):
            file.set("target-language", "en")
    else:
        root.set("trgLang", "en")
