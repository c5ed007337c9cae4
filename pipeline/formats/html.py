"""HTML: the text of each block (a paragraph, a heading, a list item, a table
cell ...) is a part, inline markup (``<b>``, ``<a href>``, ``<br>``,
entities) inside it codes; the ``alt``, ``title``, ``placeholder`` and
``aria-label`` attributes are parts of their own. ``<script>``, ``<style>``,
``<pre>``, ``<code>``, ``<textarea>`` and anything under ``translate="no"``
are never touched; ``<html lang>`` becomes ``en``. Every other byte stays.

Python's own ``html.parser`` finds the tags and text, with their positions
in the file; parsers that build a tree (lxml, html5lib) write the document
back in their own way (quotes, entities, whitespace), so only the spans
found here are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ..data import Document, Part
from ..han import HAN
from ..textio import decode_raw, printable
from .base import Source, Translated

INLINE = frozenset(
    """a abbr b bdi bdo br cite code data del dfn em font i img input ins kbd label mark q s samp small span strong
    sub sup time u var wbr""".split()
)
UNTOUCHED = frozenset("script style pre code textarea template svg math".split())
VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
ATTRIBUTES = ("alt", "title", "placeholder", "aria-label")


@dataclass(frozen=True)
class _Span:
    """A part: a run of text with inline markup, or an attribute's value (in the tag at tag_start)."""

    start: int
    end: int
    attribute: str = ""
    tag_start: int = 0
    tag_end: int = 0


@dataclass(frozen=True)
class _Event:
    kind: str  # "text" (text and entities), "inline" (an inline tag), "block" (anything that ends a run)
    start: int
    end: int


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    text, used = decode_raw(data, encoding, source=str(path))
    scanner = _Scanner(text)
    spans = [span for span in scanner.spans if HAN.search(text[span.start : span.end])]
    parts = tuple(Part(text[s.start : s.end], text.count("\n", 0, s.start) + 1, s.attribute) for s in spans)
    document = Document(printable(path.as_posix()), path.stem, text, used, "html", parts)

    def render(translated: Sequence[Translated]) -> bytes:
        translations = [t.text for t in translated]
        changes = []  # (start, end, replacement) in the file
        runs = [(s, t) for s, t in zip(spans, translations, strict=True) if not s.attribute]
        for span, translation in zip(spans, translations, strict=True):
            if not span.attribute:
                continue
            value = _escape(translation)
            inside = next((i for i, (run, _) in enumerate(runs) if run.start <= span.tag_start < run.end), None)
            if inside is None:
                changes.append((span.start, span.end, value))
            else:  # an <img alt> inside text: the tag is in the run's translation verbatim
                run, run_translation = runs[inside]
                tag = text[span.tag_start : span.tag_end]
                edited = tag[: span.start - span.tag_start] + value + tag[span.end - span.tag_start :]
                runs[inside] = (run, run_translation.replace(tag, edited, 1))
        changes += [(run.start, run.end, translation) for run, translation in runs]
        out, at = [], 0
        for start, end, replacement in sorted(changes + scanner.lang_edits):
            out += [text[at:start], replacement]
            at = end
        out.append(text[at:])
        return "".join(out).encode(used, errors="xmlcharrefreplace")

    return Source(document, render)


def _escape(value: str) -> str:
    """An attribute value as it may stand between quotes (entities already in it kept)."""
    return value.replace('"', "&quot;").replace("'", "&#39;")


class _Scanner(HTMLParser):
    """Walks the document once: the spans of text runs and of translatable
    attribute values, and the edit that makes ``<html lang="en">``."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=False)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.spans: list[_Span] = []
        self.lang_edits: list[tuple[int, int, str]] = []
        self.run: list[_Event] = []
        self.untouched: list[tuple[str, bool]] = []  # open elements whose content stays, and if they are inline
        self.feed(text)
        self.close()
        self._end_run()

    # --- positions
    def _here(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    # --- events
    def handle_starttag(self, tag, attrs):
        start = self._here()
        raw = self.get_starttag_text() or ""
        end = start + len(raw)
        if self.untouched:
            if tag == self.untouched[-1][0] and tag not in VOID:
                self.untouched.append((tag, False))  # nested same element
            return
        skip = tag in UNTOUCHED or dict(attrs).get("translate", "").lower() == "no"
        if tag == "html":
            self._set_lang(raw, start)
        if skip and tag not in VOID:
            if tag not in INLINE:
                self._end_run()
            else:  # <code> inside a paragraph: one code of the run
                self.run.append(_Event("inline", start, end))
            self.untouched.append((tag, tag in INLINE))
            return
        if not skip:
            self._attributes(raw, start, end, attrs)
        self._event("inline" if tag in INLINE else "block", start, end)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        start = self._here()
        end = self.text.index(">", start) + 1
        if self.untouched:
            open_tag, inline = self.untouched[-1]
            if tag == open_tag:
                self.untouched.pop()
                if not self.untouched and inline:
                    self.run.append(_Event("inline", start, end))  # the code span reaches to here
            return
        self._event("inline" if tag in INLINE else "block", start, end)

    def handle_data(self, data):
        start = self._here()
        if self.untouched:
            if self.run and self.untouched[0][1]:
                self.run.append(_Event("inline", start, start + len(data)))
            return
        self._event("text", start, start + len(data))

    def handle_entityref(self, name):
        self._reference(f"&{name}")

    def handle_charref(self, name):
        self._reference(f"&#{name}")

    def _reference(self, reference: str) -> None:
        """An entity or character reference: text, ``;`` included when there is one."""
        start = self._here()
        end = start + len(reference)
        self._text_like(start, end + 1 if self.text.startswith(";", end) else end)

    def _text_like(self, start: int, end: int) -> None:
        if self.untouched:
            if self.run and self.untouched[0][1]:
                self.run.append(_Event("inline", start, end))
            return
        self._event("text", start, end)

    def handle_comment(self, data):
        self._end_run()

    def handle_decl(self, decl):
        self._end_run()

    def handle_pi(self, data):
        self._end_run()

    # --- runs
    def _event(self, kind: str, start: int, end: int) -> None:
        if kind == "block":
            self._end_run()
        else:
            self.run.append(_Event(kind, start, end))

    def _end_run(self) -> None:
        """A run of text and inline markup ends: its span, without the markup
        and spaces at its edges, is a part if it has text."""
        events = self.run
        self.run = []
        while events and events[0].kind != "text":
            events.pop(0)
        while events and events[-1].kind != "text":
            events.pop()
        if events and any(self.text[e.start : e.end].strip() for e in events if e.kind == "text"):
            self.spans.append(_Span(events[0].start, events[-1].end))

    def _attributes(self, raw: str, start: int, end: int, attrs) -> None:
        for name in ATTRIBUTES:
            if name in dict(attrs):
                found = re.search(rf"""\s{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", raw, re.IGNORECASE)
                if found:
                    group = next(g for g in (1, 2, 3) if found.group(g) is not None)
                    self.spans.append(_Span(start + found.start(group), start + found.end(group), name, start, end))

    def _set_lang(self, raw: str, start: int) -> None:
        found = re.search(r"""\s(?:xml:)?lang\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", raw, re.IGNORECASE)
        if found:
            group = next(g for g in (1, 2, 3) if found.group(g) is not None)
            self.lang_edits.append((start + found.start(group), start + found.end(group), "en"))
        else:
            self.lang_edits.append((start + len("<html"), start + len("<html"), ' lang="en"'))
