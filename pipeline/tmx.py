"""Stage 4a: write translation units as TMX 1.4b.

The file validates against the TMX 1.4b DTD (shipped in ``tests/``) and
avoids what makes CAT tools reject or mismatch units: language tags are
BCP 47 (``zh-CN``, never ``zh_CN``), every ``<tuv>`` has ``xml:lang``,
segments carry no leading or trailing spaces, and characters XML 1.0 forbids
are removed. No DOCTYPE is written: Java-based tools would try to fetch the
DTD from disk and fail.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from . import TOOL, __version__, dates
from .data import Approval, Provenance, Unit
from .dates import format_utc
from .protect import code_spans
from .textio import atomic_write, clean_segment, printable

SOURCE_LANG = "zh-CN"
TARGET_LANG = "en"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

CONFIRMATION_LEVEL = "x-ConfirmationLevel"  # Trados Studio's name for a unit's review state
APPROVED, DRAFT = "ApprovedTranslation", "Draft"
ORIGIN, MACHINE_TRANSLATION = "x-zhen-origin", "machine-translation"
FUZZY_MATCH = "translation-memory-fuzzy-match"  # a person's translation of a similar sentence
CONFIDENCE = "x-zhen-confidence"
GLOSSARY = "x-zhen-glossary"  # its file name and version
CONTEXT = ("x-context-pre", "x-context-post")  # memoQ's names
LOCATION = "x-zhen-location"  # document:line of each occurrence
BEAD = "x-zhen-bead"  # an aligned unit's bead: its sentences on each side, [0,1]:[2]


def write_tmx(units: Sequence[Unit], path: str | Path, provenance: Provenance) -> None:
    """Write ``units`` to ``path`` atomically."""
    atomic_write(path, tmx_bytes(units, provenance))


def tmx_bytes(units: Sequence[Unit], provenance: Provenance) -> bytes:
    date = format_utc(provenance.created, dates.TMX)
    root = etree.Element("tmx", version="1.4")
    etree.SubElement(
        root,
        "header",
        {
            "creationtool": TOOL,
            "creationtoolversion": __version__,
            "segtype": "sentence",
            "o-tmf": TOOL,
            "adminlang": "en",
            "srclang": SOURCE_LANG,
            "datatype": "plaintext",
            "creationdate": date,
        },
    )
    body = etree.SubElement(root, "body")
    for unit in units:
        if unit.approval is not None:
            tu = _approved_unit(body, unit.approval)
        else:
            tu = etree.SubElement(body, "tu", creationdate=date, creationid=TOOL)
            _prop(tu, CONFIRMATION_LEVEL, confirmation_level(unit))
            _machine_props(tu, unit, provenance)
        if unit.copied:
            etree.SubElement(tu, "note").text = "copied from the source: it has no Chinese to translate"
        if unit.glossary:  # the glossary whose terms the unit's source has
            _prop(tu, GLOSSARY, unit.glossary)
        _context_props(tu, unit.context, unit.locations)
        for warning in unit.warnings:
            etree.SubElement(tu, "note").text = clean_segment(warning)
        _tuv(tu, SOURCE_LANG, unit.source)
        _tuv(tu, TARGET_LANG, unit.target)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def confirmation_level(unit: Unit) -> str:
    if unit.approval is not None:
        return APPROVED
    if unit.aligned and not unit.warnings:
        return "Translated"
    return DRAFT


def _approved_unit(body: etree._Element, approval: Approval) -> etree._Element:
    """A person's translation: created and last changed when they approved it."""
    when = format_utc(approval.approved, dates.TMX)
    who = {"creationid": clean_segment(approval.translator), "changeid": clean_segment(approval.translator)}
    tu = etree.SubElement(body, "tu", creationdate=when, changedate=when, **(who if approval.translator else {}))
    _prop(tu, CONFIRMATION_LEVEL, APPROVED)
    _prop(tu, ORIGIN, "translation-memory")
    note = approval.note()
    etree.SubElement(tu, "note").text = clean_segment(note[0].upper() + note[1:])
    return tu


def _machine_props(tu: etree._Element, unit: Unit, provenance: Provenance) -> None:
    """Where an unapproved unit's translation came from, and how far to trust it."""
    if unit.edited:
        _prop(tu, ORIGIN, "reviewer-edit")
        return
    _prop(tu, CONFIDENCE, f"{unit.confidence:.3f}")
    if unit.near is not None and unit.fuzzy_matched:
        _prop(tu, ORIGIN, FUZZY_MATCH)
        _prop(tu, "x-zhen-match", f"{unit.near.score:.0%}")
        return
    _prop(tu, ORIGIN, "alignment" if unit.aligned else MACHINE_TRANSLATION)
    _prop(tu, "x-zhen-model", provenance.model)
    if unit.logprob is not None:
        _prop(tu, "x-zhen-logprob", f"{unit.logprob:.3f}")
    for bead in unit.beads:  # which sentences of each side (from 0), as Vecalign writes them
        _prop(tu, BEAD, str(bead))


def _context_props(tu: etree._Element, context: tuple[str, str], locations=()) -> None:
    """Where the unit came from: the source sentences around it, under the
    names memoQ writes and reads for context (101%) matches, and its
    document and line."""
    for kind, sentence in zip(CONTEXT, context, strict=True):
        if sentence:
            _prop(tu, kind, sentence)
    for path, line in locations:
        _prop(tu, LOCATION, f"{path}:{line}")


def _prop(parent: etree._Element, kind: str, value: str) -> None:
    etree.SubElement(parent, "prop", type=kind).text = clean_segment(value)


def _tuv(tu: etree._Element, lang: str, text: str) -> None:
    tuv = etree.SubElement(tu, "tuv", {_XML_LANG: lang})
    _segment(etree.SubElement(tuv, "seg"), clean_segment(text))


def _segment(seg: etree._Element, text: str) -> None:
    """``text`` as a TMX segment: its placeholders and markup (:mod:`pipeline.protect`)
    as inline elements holding the original code: a tag and its closing tag
    as ``<bpt>``/``<ept>``, a tag whose partner is in another sentence as
    ``<it>``, anything else as ``<ph>``. CAT tools show them as tags and
    never let a translator edit them."""
    codes = [(start, end, text[start:end]) for start, end in code_spans(text)]
    pairs = _paired(codes)
    last: etree._Element | None = None
    at, number = 0, 0
    for index, (start, end, code) in enumerate(codes):
        if last is None:
            seg.text = text[at:start]
        else:
            last.tail = text[at:start]
        if index in pairs:
            partner = pairs[index]
            if partner > index:
                number += 1
                pairs[partner] = -number  # the ept finds its bpt's number here
                last = etree.SubElement(seg, "bpt", i=str(number))
            else:
                last = etree.SubElement(seg, "ept", i=str(-pairs[index]))
        elif _TAG_NAME.match(code):
            last = etree.SubElement(seg, "it", pos="end" if code.startswith("</") else "begin")
        else:
            last = etree.SubElement(seg, "ph")
        last.text = code
        at = end
    if last is None:
        seg.text = text
    else:
        last.tail = text[at:]


_TAG_NAME = re.compile(r"</?([A-Za-z][\w:.-]*)[\s>]")


def _paired(codes: list[tuple[int, int, str]]) -> dict[int, int]:
    """Which opening tag (by index in ``codes``) closes with which closing tag, both ways."""
    pairs: dict[int, int] = {}
    open_tags: list[tuple[str, int]] = []
    for index, (_, _, code) in enumerate(codes):
        name = _TAG_NAME.match(code)
        if not name or code.endswith("/>"):
            continue
        if code.startswith("</"):
            for depth in range(len(open_tags) - 1, -1, -1):
                if open_tags[depth][0] == name.group(1):
                    opening = open_tags[depth][1]
                    pairs[opening], pairs[index] = index, opening
                    del open_tags[depth:]
                    break
        else:
            open_tags.append((name.group(1), index))
    return pairs


# ---------------------------------------------------------------- reading

# Review states (Trados's x-ConfirmationLevel) that are not a person's approval.
_NOT_APPROVED = {"draft", "rejectedtranslation", "rejectedsignoff", "nottranslated"}
# Inline codes: their content is the original format's markup, read back as it was.
_CODES = {"bpt", "ept", "ph", "it", "ut"}


@dataclass
class TmxImport:
    """The Chinese→English pairs of a TMX file, read as a stream (iterate
    ``units()`` once), and what it skipped (complete once it is read)."""

    path: Path
    approved: int = 0  # units read for the memory
    drafts: int = 0  # units marked as machine output or unapproved
    other_languages: int = 0  # units without both a Chinese and an English segment
    empty: int = 0  # units with an empty Chinese or English segment
    entities: int = 0  # units with an entity reference, which zhen never expands

    def units(self) -> Iterator[Approval]:
        """Each approved unit, in file order.

        The file is parsed incrementally, so neither it nor its units are
        held in memory. A file that is not well-formed TMX raises ValueError
        where the fault is, whatever was yielded before it: a reader that
        stores the units in one transaction stores none.
        """
        file_date = datetime.fromtimestamp(self.path.stat().st_mtime, timezone.utc)
        header, header_date = None, file_date
        for tu, unit_header in _units_of(self.path):
            if unit_header is not header:  # the file's date, for units without one
                header = unit_header
                header_date = dates.parse(header.get("creationdate"), dates.TMX) or file_date
            found = self._read_unit(tu, header_date)
            if found:
                yield found

    def _read_unit(self, tu: etree._Element, fallback_date: datetime) -> Approval | None:
        segments = _segments(tu)
        if len(segments) < 2:
            self.other_languages += 1
            return None
        if any(has_entity(seg) for _, seg in segments.values()):
            # An entity the file declares (or not at all): its text is unknown,
            # and dropping it would store a translation with a hole in it.
            self.entities += 1
            return None
        source, target = (clean_segment(_text(segments[lang][1])) for lang in ("zh", "en"))
        if not source or not target:
            self.empty += 1
            return None
        if not _marked_approved(tu):
            self.drafts += 1
            return None
        target_tuv = segments["en"][0]
        when = (
            dates.parse(_first_attribute("changedate", target_tuv, tu), dates.TMX)
            or dates.parse(_first_attribute("creationdate", target_tuv, tu), dates.TMX)
            or fallback_date
        )
        translator = _first_attribute("changeid", target_tuv, tu) or _first_attribute("creationid", target_tuv, tu)
        translator = "" if translator == TOOL else clean_segment(translator)
        props = {prop.get("type", ""): clean_segment(prop.text or "") for prop in _children(tu, "prop")}
        context = (props.get(CONTEXT[0], ""), props.get(CONTEXT[1], ""))
        self.approved += 1
        return Approval(source, target, printable(str(self.path)), when, translator, context)


@dataclass(frozen=True)
class TmxUnit:
    """A Chinese→English unit as the file has it: its segments' text, its
    properties (a type may repeat) and its notes."""

    source: str
    target: str
    props: dict[str, list[str]]
    notes: tuple[str, ...]


def read_units(path: str | Path) -> tuple[dict[str, str], Iterator[TmxUnit]]:
    """The header's attributes of the TMX file at ``path``, and each of its
    Chinese→English units as a stream (units with an entity are skipped)."""
    stream = _units_of(Path(path))
    first = next(stream, None)
    if first is None:
        return _header_of(Path(path)), iter(())
    header = dict(first[1].attrib)

    def units() -> Iterator[TmxUnit]:
        for tu, _ in itertools.chain([first], stream):
            segments = _segments(tu)
            if len(segments) < 2 or any(has_entity(seg) for _, seg in segments.values()):
                continue
            props: dict[str, list[str]] = {}
            for prop in _children(tu, "prop"):
                props.setdefault(prop.get("type", ""), []).append((prop.text or "").strip())
            notes = tuple((note.text or "").strip() for note in _children(tu, "note"))
            source, target = (clean_segment(_text(segments[lang][1])) for lang in ("zh", "en"))
            yield TmxUnit(source, target, props, notes)

    return header, units()


def _units_of(path: Path) -> Iterator[tuple[etree._Element, etree._Element]]:
    """Each ``<tu>`` of the file with its ``<header>``, parsed incrementally:
    neither the file nor its units are held in memory (a unit is freed once
    the caller has it). A file that is not well-formed TMX raises ValueError
    where the fault is, whatever was yielded before it."""
    # Opened by descriptor: lxml cannot take a file name that is not UTF-8.
    with open(os.open(path, os.O_RDONLY), "rb") as file:
        parser = etree.iterparse(file, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False)
        header = etree.Element("header")
        try:
            for event, element in parser:
                if not isinstance(element.tag, str):  # an entity reference: the unit's reader sees it
                    continue
                name = etree.QName(element).localname
                if event == "start" and element.getparent() is None and name != "tmx":
                    raise ValueError(f"the root element is <{name}>, not <tmx>")
                if event == "end" and name == "header":
                    header = element
                elif event == "end" and name == "tu":
                    yield element, header
                    _forget(element)
        except etree.XMLSyntaxError as err:
            raise ValueError(f"not well-formed XML: {err}") from None


def _header_of(path: Path) -> dict[str, str]:
    """The header's attributes of a TMX file without units."""
    with open(os.open(path, os.O_RDONLY), "rb") as file:
        try:
            root = etree.parse(file, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except etree.XMLSyntaxError as err:
            raise ValueError(f"not well-formed XML: {err}") from None
    if etree.QName(root.getroot()).localname != "tmx":
        raise ValueError(f"the root element is <{etree.QName(root.getroot()).localname}>, not <tmx>")
    header = next(_children(root.getroot(), "header"), None)
    return dict(header.attrib) if header is not None else {}


def _segments(tu: etree._Element) -> dict[str, tuple[etree._Element, etree._Element]]:
    """The unit's first Chinese and first English ``(tuv, seg)``."""
    segments = {}
    for tuv in _children(tu, "tuv"):
        language = _primary_language(tuv.get(_XML_LANG) or tuv.get("lang") or "")
        seg = next(_children(tuv, "seg"), None)
        if language in ("zh", "en") and language not in segments and seg is not None:
            segments[language] = (tuv, seg)
    return segments


def read_tmx(path: str | Path) -> TmxImport:
    """The Chinese→English pairs of a TMX file (any version, any tool), to be read as a stream.

    Languages are matched on their primary subtag, in ``xml:lang`` (TMX 1.4)
    or ``lang`` (1.1-1.3): ``zh``, ``zh-CN``, ``zh-Hans``, ``zh_CN`` are all
    Chinese. Entities are never expanded and nothing is fetched.
    """
    return TmxImport(Path(path))


def has_entity(element: etree._Element) -> bool:
    """An entity reference (never expanded: its text is unknown) in ``element``."""
    return any(isinstance(node, etree._Entity) for node in element.iter())


def _forget(tu: etree._Element) -> None:
    """Free a unit once read, and the (cleared) units before it."""
    tu.clear(keep_tail=True)
    body = tu.getparent()
    while body is not None and tu.getprevious() is not None:
        del body[0]


def _marked_approved(tu: etree._Element) -> bool:
    """Not marked as a draft, a rejected translation or machine output."""
    props = {prop.get("type", ""): (prop.text or "").strip() for prop in _children(tu, "prop")}
    if props.get(CONFIRMATION_LEVEL, "").lower() in _NOT_APPROVED:
        return False
    return props.get(ORIGIN) != MACHINE_TRANSLATION and "machinetranslation" not in props.get("x-Origin", "").lower()


def _text(seg: etree._Element) -> str:
    """A segment's text with its inline codes (``<bpt>``, ``<ph>``...) as the
    original markup they hold (``<b>``, ``%s``), as zhen writes them; ``<hi>``
    keeps its text, a ``<sub>`` flow inside a code is dropped."""
    parts = [seg.text or ""]
    for child in seg:
        if isinstance(child.tag, str):
            parts.append(child.text or "" if etree.QName(child).localname in _CODES else _text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _children(parent: etree._Element, name: str):
    return (child for child in parent if isinstance(child.tag, str) and etree.QName(child).localname == name)


def _primary_language(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-")[0].lower()


def _first_attribute(name: str, *elements: etree._Element) -> str:
    return next((element.get(name) for element in elements if element.get(name)), "")
