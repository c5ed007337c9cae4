"""The data that flows between the stages.

    Document ──segment──▶ Sentence* ──translate──▶ Translation*
             ──score──▶ Pair* ──group──▶ Unit* ──▶ TMX, PO

A sentence a person already translated takes its ``Approval`` from the
translation memory instead of a trip through the model.

All of it is immutable: a stage returns new values and never edits its input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .dates import DAY, format_utc


@dataclass(frozen=True)
class Part:
    """A translatable string of a document: a paragraph of plain text, a JSON
    value, the text of an HTML block, an XLIFF source, a PO msgid. Its
    placeholders and markup are in ``text`` as the file has them."""

    text: str
    line: int  # 1-based line of the file where it starts
    key: str = ""  # where it is, in the format's own terms (a JSON path, an XLIFF id)
    whole: bool = False  # one unit as it stands, not split into sentences (a PO entry)


@dataclass(frozen=True)
class Document:
    """A decoded input document and its translatable parts.

    ``text`` is the decoded text; for plain text its line ends are normalised
    to ``\\n`` and control characters removed (see
    :func:`pipeline.textio.decode`), and each non-blank line is a part.
    """

    path: str  # as given by the user, printable (textio.printable); used in PO references
    name: str  # output file stem: the file name without its last extension, as the system has it
    text: str
    encoding: str  # the encoding it was decoded from
    kind: str = "txt"  # its format: txt, md, html, json, po, xliff
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True, slots=True)  # a long document has millions
class Sentence:
    """One segment of a document: ``text == document.text[start:end]``."""

    text: str
    start: int
    end: int
    line: int  # 1-based line of ``start``, for ``#:`` references
    paragraph: int  # 0-based index of the paragraph (input line), or of the document's part
    key: str = ""  # the part's key, where the format has one


@dataclass(frozen=True)
class Approval:
    """A translation a person approved: an entry a reviewer un-fuzzied in a
    PO file, or a unit of a TMX imported from another tool."""

    source: str  # the sentence, as it was approved
    target: str
    origin: str  # the file it was approved in or imported from
    approved: datetime  # when (timezone-aware UTC)
    translator: str = ""  # who, when the file says
    context: tuple[str, str] = ("", "")  # the source sentences before and after it, where it was approved

    def by(self) -> str:
        """`` by <translator>``, or nothing when the file did not say."""
        return f" by {self.translator}" if self.translator else ""

    def note(self) -> str:
        """Where, by whom and when, in words (for PO comments and TMX notes)."""
        return f"approved in {self.origin}{self.by()} on {self.day()}"

    def day(self) -> str:
        return format_utc(self.approved, DAY)


@dataclass(frozen=True)
class NearMatch:
    """An approved translation of a sentence like another (a fuzzy match)."""

    approval: Approval  # of the similar sentence, approval.source
    score: float  # how alike the two sentences are, 0 to 1 (CAT tools show it in percent)

    def describe(self) -> str:
        return f"the translation of “{self.approval.source}”, {self.score:.0%} alike"


@dataclass(frozen=True, slots=True)  # a long document has millions
class Translation:
    """The model's output for one source sentence, or an approved translation."""

    text: str
    pieces: int = 1  # >1 when the sentence was split to fit the model
    truncated: bool = False  # the decoder stopped at its length limit
    logprob: float | None = None  # the model's mean log-probability per output token
    looped: bool = False  # the output repeats itself even after a second try
    copied: bool = False  # nothing to translate (no Chinese): the source, normalised
    approval: Approval | None = None  # from the translation memory, not the model
    repaired: tuple[str, ...] = ()  # placeholders or markup the model dropped or repeated, put back
    near: NearMatch | None = None  # a fuzzy match from the memory: the text itself, or offered beside it


@dataclass(frozen=True, slots=True)  # a long document has millions
class Pair:
    """A source sentence aligned with its translation, and how far to trust it."""

    source: Sentence
    translation: Translation
    confidence: float  # in [0, 1]; 1 means no warning sign was found
    warnings: tuple[str, ...] = ()  # why the translation may be wrong


@dataclass(frozen=True)
class Unit:
    """One translation unit of the outputs: a unique source sentence.

    A sentence that occurs several times in a document is one unit (``msgfmt``
    rejects duplicate msgids, and a TM wants one entry) with every location.
    """

    source: str
    target: str
    confidence: float
    warnings: tuple[str, ...]
    locations: tuple[tuple[str, int], ...]  # (path, line) of each occurrence
    logprob: float | None = None  # the model's mean log-probability per output token
    copied: bool = False  # no Chinese in the source: copied, not translated
    aligned: bool = False  # a human translation paired by the aligner, not machine output
    approval: Approval | None = None  # a person approved ``target``
    edited: bool = False  # ``target`` is a reviewer's edit, not yet approved
    beads: tuple[Bead, ...] = ()  # for an aligned unit, the beads it was found in
    terms: tuple[tuple[str, str], ...] = ()  # glossary terms of the source: (Chinese, English)
    near: NearMatch | None = None  # a fuzzy match from the memory (see Translation.near)
    context: tuple[str, str] = ("", "")  # the source sentences before and after its first occurrence

    @property
    def fuzzy_matched(self) -> bool:
        """Its translation is the memory's fuzzy match (not the model's, offered beside)."""
        return self.near is not None and self.target == self.near.approval.target

    glossary: str = ""  # the glossary they come from: its name and version


@dataclass(frozen=True)
class Provenance:
    """Where the outputs came from, for headers and comments."""

    model: str  # hub id or directory the translations came from
    created: datetime  # timezone-aware UTC


@dataclass(frozen=True)
class Bead:
    """Source sentences aligned with target sentences (0-based indices, in
    order); one side is empty for a sentence with no counterpart."""

    source: tuple[int, ...]
    target: tuple[int, ...]
    confidence: float = 1.0  # in [0, 1]

    def __str__(self) -> str:
        """Vecalign's notation: ``[0,1]:[2]``."""
        return f"[{','.join(map(str, self.source))}]:[{','.join(map(str, self.target))}]"

    @classmethod
    def parse(cls, text: str) -> Bead | None:
        """The bead ``text`` writes in Vecalign's notation; None if it is not one."""
        found = _BEAD.fullmatch(text.strip())
        if found is None:
            return None
        source, target = (tuple(int(i) for i in side.split(",") if i.strip()) for side in found.groups())
        return cls(source, target)


_BEAD = re.compile(r"\[([\d,\s]*)\]\s*:\s*\[([\d,\s]*)\]")
