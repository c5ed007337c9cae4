"""Stage 4b: write translation units as a gettext PO file for review.

One entry per unique source sentence: ``msgid`` is the Chinese, ``msgstr``
the machine translation, flagged ``fuzzy`` so that Poedit, Lokalize and
Weblate show it as a draft to review. The ``#.`` comment says which model
wrote it, how confident the checks are, and why it may be wrong; ``#:``
references point to every line the sentence occurs on.

A PO file already at the output path may hold a reviewer's work, and is
merged, never overwritten (see :func:`keep_reviewed`). A file there that
cannot be read is an error, and nothing is written over it. The entries a
reviewer approved are also what :func:`approved_entries` hands to the
translation memory.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polib

from . import GENERATOR, MACHINE_TRANSLATOR, TOOL, dates
from .data import Approval, Bead, Provenance, Unit
from .errors import ZhenError
from .glossary import NO_GLOSSARY, Glossary
from .score import human_checks
from .similar import SimilarFinder
from .textio import atomic_write, clean_segment, is_stream, printable

# Did zhen write this (msgid, msgstr) as a machine draft? (The memory knows.)
MachineDraftTest = Callable[[str, str], bool]


# The comment line that names an aligned unit's bead: [0,1]:[2] (sentences from 0).
ALIGNED_SENTENCES = "Aligned sentences"

# An edited sentence this alike (difflib's ratio) to a vanished one gets its
# reviewed translation as a fuzzy suggestion; the few most similar by shared
# character pairs are compared. Higher than msgmerge's 0.6: a Chinese
# character carries more than a letter (第三句 and 第五句 are 0.75 alike).
FUZZY_MATCH = 0.8

# Header fields zhen owns; on a rerun the others keep what the reviewer's
# editor set (Last-Translator, PO-Revision-Date, Language, X-Poedit-*, ...).
# The file is always written in UTF-8, so its charset is zhen's to declare.
_GENERATED_FIELDS = ("POT-Creation-Date", "X-Generator", "Content-Type", "Content-Transfer-Encoding")


def write_po(
    units: Sequence[Unit],
    path: str | Path,
    provenance: Provenance,
    source_path: str,
    is_machine_draft: MachineDraftTest = lambda msgid, msgstr: False,
    catalog: polib.POFile | None = None,
    own_comments: dict[tuple, str] | None = None,
    glossary: Glossary = NO_GLOSSARY,
) -> polib.POFile:
    """Write ``units`` to ``path`` atomically, merged with the reviewer's file
    there; return what was written. ``catalog``: write that (a translated
    gettext catalog, whose entries are the units) instead of a PO of the
    units; its ``own_comments`` (``#.``, by entry) stay first whatever zhen says.

    ``is_machine_draft`` tells the drafts zhen wrote from a reviewer's edits
    (the translation memory records them: :func:`machine_drafts`). The file
    is read again just before it is replaced, so an edit saved while the
    model was translating is merged too.
    """
    po = catalog if catalog is not None else po_file(units, provenance, source_path, Path(path))
    own = own_comments or {}
    previous = read_existing(Path(path))
    if previous is not None:
        keep_reviewed(po, previous, is_machine_draft, glossary)
    for entry in po:  # a catalog's own comments come first, whatever zhen says
        mine = own.get(_identity(entry), "")
        if mine and not entry.comment.startswith(mine):
            entry.comment = f"{mine}\n{entry.comment}" if entry.comment else mine
    atomic_write(path, str(po).encode("utf-8"))
    return po


def machine_drafts(units: Sequence[Unit]) -> list[tuple[str, str]]:
    """The ``(msgid, msgstr)`` of each entry :func:`write_po` writes as a machine
    draft: what the memory must know before the file exists, so that a draft
    never passes for a reviewer's edit."""
    return [(clean_segment(u.source), clean_segment(u.target)) for u in units if _draft(u) and clean_segment(u.target)]


def po_file(units: Sequence[Unit], provenance: Provenance, source_path: str, path: Path | None = None) -> polib.POFile:
    """The PO file of ``units``; ``path`` is where it will be written (approvals made there are "this file")."""
    # No line wrapping: it keeps diffs of reviewed files small, and polib would
    # otherwise wrap `#:` references inside file names that contain spaces.
    po = polib.POFile(wrapwidth=0)
    source_path = printable(source_path)
    if any(unit.aligned for unit in units):
        origin = f"Alignment of {source_path} (Chinese) with its English translation by zhen.\n"
    else:
        origin = f"Machine translation of {source_path} (Chinese) into English by zhen.\n"
    po.header = origin + (
        "Entries flagged fuzzy are unreviewed drafts: correct them and\nremove the fuzzy flag to approve them."
    )
    date = provenance.created.strftime(dates.PO_HEADER)
    po.metadata = {
        "Project-Id-Version": Path(source_path).name,
        "POT-Creation-Date": date,
        "PO-Revision-Date": date,
        "Last-Translator": MACHINE_TRANSLATOR,
        "Language-Team": "English",
        "Language": "en",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
        "X-Generator": GENERATOR,
        "X-Source-Language": "zh_CN",
    }
    for unit in units:
        po.append(
            polib.POEntry(
                msgid=clean_segment(unit.source),
                msgstr=clean_segment(unit.target),
                flags=["fuzzy"] if _draft(unit) else [],
                comment=entry_comment(unit, provenance, path),
                occurrences=[(_reference_path(path), str(line)) for path, line in unit.locations],
                # A fuzzy match shows what its source was: Poedit marks the difference.
                previous_msgid=clean_segment(unit.near.approval.source) if unit.near and unit.fuzzy_matched else None,
            )
        )
    return po


def keep_reviewed(
    po: polib.POFile,
    previous: polib.POFile,
    is_machine_draft=lambda msgid, msgstr: False,
    glossary: Glossary = NO_GLOSSARY,
) -> None:
    """Carry a reviewer's work in ``previous`` into the fresh ``po``, as msgmerge would.

    - An approved entry (translated, not fuzzy) keeps its translation and flags.
    - A fuzzy entry whose translation a person edited (it is not a draft zhen
      wrote: ``is_machine_draft``) keeps the edit, still fuzzy, with the new
      suggestion in the comment; an untouched draft is refreshed.
    - Every entry keeps the reviewer's own comments (``# ...``).
    - An entry with a translation that has no counterpart in the fresh file
      (its sentence left the document; or an entry zhen never writes, with a
      context or plural forms) becomes obsolete (``#~``); one whose sentence
      comes back is revived. A new sentence much like one that left (an
      edit of it) gets the old one's reviewed translation, fuzzy, with the
      old msgid as ``#|``.
    - The header is the reviewer's, but for the fields zhen owns.
    """
    current = {_identity(entry): entry for entry in po}
    vanished = []
    for old in _one_per_entry(previous):
        entry = current.pop(_identity(old), None)
        if entry is None:
            if old.msgstr or any(old.msgstr_plural.values()):
                vanished.append(old)
            continue
        entry.tcomment = old.tcomment
        if _approved(old):
            if entry.fuzzy or _translations(entry) != _translations(old):  # else the memory's note says where
                checks = [f"Check: {warning}" for warning in human_checks(old.msgid, old.msgstr, glossary)]
                entry.comment = "\n".join(["Approved in this file (a reviewed translation, kept across runs)", *checks])
            entry.msgstr, entry.msgstr_plural = old.msgstr, dict(old.msgstr_plural)
            entry.flags = list(old.flags)
        elif old.msgid_plural and _translations(old) != _translations(entry) and _by_a_person(old, is_machine_draft):
            entry.msgstr_plural = dict(old.msgstr_plural)  # a reviewer's unfinished plural forms
            entry.flags = list(dict.fromkeys(["fuzzy", *old.flags]))
        elif old.msgstr != entry.msgstr and _by_a_person(old, is_machine_draft):
            # The checks are of the edit shown, not of the machine's suggestion beside it.
            origin = entry.comment.split("\n")[0]
            checks = [f"Check: {warning}" for warning in human_checks(old.msgid, old.msgstr, glossary)]
            entry.comment = "\n".join(
                [origin, f"Your edit is kept, not yet approved. The suggestion now: {entry.msgstr}", *checks]
            )
            entry.msgstr = old.msgstr
            entry.flags = list(dict.fromkeys(["fuzzy", *old.flags]))
    drafts = [entry for entry in current.values() if entry.fuzzy]  # new sentences, not in the memory
    vanished = _offer_earlier_versions(drafts, vanished, is_machine_draft)
    for old in vanished:
        old.obsolete = True
        po.append(old)
    ours = {field: po.metadata[field] for field in _GENERATED_FIELDS if field in po.metadata}
    po.metadata = {**po.metadata, **previous.metadata, **ours}
    po.header = previous.header or po.header


def _offer_earlier_versions(
    new: list[polib.POEntry], vanished: list[polib.POEntry], is_machine_draft
) -> list[polib.POEntry]:
    """Give a new sentence the reviewed translation of the sentence it was
    edited from, as msgmerge does: fuzzy, with the old msgid as ``#|``
    (Poedit shows the difference). Return the vanished entries not used.

    Only a person's work is offered (approved or edited entries); what the
    model wrote for the old sentence is worth less than its draft for the new one.
    """
    reviewed = [
        old for old in vanished if old.msgctxt is None and not old.msgid_plural and _by_a_person(old, is_machine_draft)
    ]
    finder = SimilarFinder([old.msgid for old in reviewed])
    used: set[int] = set()
    for entry in new:
        ratio, best = finder.most_similar(entry.msgid, used)
        if ratio < FUZZY_MATCH:
            continue
        used.add(best)
        old = reviewed[best]
        entry.comment = (
            f"{entry.comment}\nCheck: the sentence changed; this is the reviewed translation of "
            f"its earlier version ({ratio:.0%} alike). The machine translation of the new sentence: {entry.msgstr}"
        )
        entry.msgstr, entry.previous_msgid, entry.tcomment = old.msgstr, old.msgid, old.tcomment
        entry.flags = list(dict.fromkeys(["fuzzy", *entry.flags]))
    offered = {id(reviewed[n]) for n in used}
    return [old for old in vanished if id(old) not in offered]


def approved_entries(po: polib.POFile, path: str | Path, contexts: bool = False) -> list[Approval]:
    """The translations a reviewer approved in ``po`` (obsolete ones too: approved
    work is never thrown away), dated by the file's PO-Revision-Date. Plural
    forms are not sentences the memory can hold; nor, but in a gettext
    catalog (``contexts``), entries with a context zhen never writes."""
    when = _revision_date(po, Path(path))
    translator = po.metadata.get("Last-Translator", "")
    if translator.startswith(f"{TOOL} "):  # our own placeholder: nobody has saved the file yet
        translator = ""
    return [
        Approval(entry.msgid, clean_segment(entry.msgstr), printable(str(path)), when, clean_segment(translator))
        for entry in _one_per_entry(po)
        if _approved(entry)
        and not entry.msgid_plural
        and (contexts or entry.msgctxt is None)
        and clean_segment(entry.msgid)
    ]


def edited_drafts(po: polib.POFile, is_machine_draft) -> set[str]:
    """The msgids of fuzzy entries whose text a person wrote or un-approved:
    the reviewer is working on them, so the memory must not overrule them."""
    return {
        entry.msgid
        for entry in _one_per_entry(po)
        if entry.fuzzy and entry.msgctxt is None and _by_a_person(entry, is_machine_draft)
    }


def _revision_date(po: polib.POFile, path: Path) -> datetime:
    """When the reviewer last saved: the header's PO-Revision-Date, which
    Poedit, Lokalize and Weblate set; else (a text editor, a script) the
    file's modification time. A PO-Revision-Date no later than the
    POT-Creation-Date zhen wrote is zhen's own, not the reviewer's."""
    revised, created = (
        dates.parse(po.metadata.get(field), dates.PO_HEADER) for field in ("PO-Revision-Date", "POT-Creation-Date")
    )
    if revised is not None and (created is None or revised > created):
        return revised
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def _identity(entry: polib.POEntry) -> tuple:
    """What makes two entries the same entry for gettext."""
    return entry.msgctxt, entry.msgid, entry.msgid_plural


def _one_per_entry(entries: polib.POFile) -> list[polib.POEntry]:
    """A hand-edited file may repeat an entry (msgfmt rejects that), or hold an
    obsolete copy of a live one; keep one, an approved one if there is one
    (live before obsolete), noting any other approved translation in its
    comments so that nothing a reviewer wrote is lost."""
    chosen: dict[tuple, polib.POEntry] = {}
    for entry in sorted(entries, key=lambda e: e.obsolete):  # stable: file order otherwise
        kept = chosen.get(_identity(entry))
        if kept is None or (_approved(entry) and not _approved(kept)):
            chosen[_identity(entry)] = entry
        elif _approved(entry) and entry.msgstr != kept.msgstr:
            note = f"Also approved in a duplicate entry: {entry.msgstr}"
            if note not in kept.tcomment:
                kept.tcomment = f"{kept.tcomment}\n{note}" if kept.tcomment else note
    return list(chosen.values())


def _by_a_person(entry: polib.POEntry, is_machine_draft: MachineDraftTest) -> bool:
    """Did a person write the entry's translation (approved or not)? Unless
    the memory knows it as zhen's draft, a translation is taken for theirs."""
    if entry.msgid_plural:
        forms = [(entry.msgid, entry.msgstr_plural.get(0, "")), (entry.msgid_plural, entry.msgstr_plural.get(1, ""))]
        return any(text for _, text in forms) and not all(is_machine_draft(s, t) for s, t in forms if t)
    return bool(entry.msgstr) and not is_machine_draft(entry.msgid, entry.msgstr)


def _translations(entry: polib.POEntry) -> tuple:
    return entry.msgstr, tuple(sorted(entry.msgstr_plural.items()))


def _approved(entry: polib.POEntry) -> bool:
    if entry.fuzzy:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def read_po(path: str | Path) -> polib.POFile:
    """Read a PO file strictly: OSError, UnicodeError or ValueError when it is
    not one, is cut short, or declares a charset that cannot hold Chinese.

    Lines end at ``\n`` only, as for gettext: a U+2028 LINE SEPARATOR (or
    NEL, FS, ...) inside a string is text, not a line break, which is why
    polib reads the file itself rather than a string it would split at them.
    """
    data = Path(path).read_bytes()
    encoding = polib.detect_encoding(str(path))
    _check_charset_holds_chinese(data, encoding)
    text = data.decode(encoding).removeprefix("\ufeff")
    _check_strings_closed(text)
    return polib.pofile(str(path), encoding=encoding, wrapwidth=0)


def _check_charset_holds_chinese(data: bytes, encoding: str) -> None:
    """A file whose header says ISO-8859-1 (say) but holds UTF-8 bytes would read
    as mojibake: its entries would not match, and garbled approvals would be learned."""
    try:
        "中文".encode(encoding)
    except UnicodeEncodeError:
        if not data.isascii():
            raise ValueError(
                f"its header declares charset={encoding}, which cannot hold Chinese, but it has non-ASCII "
                "bytes; set the Content-Type header to charset=UTF-8 (or the file's real charset)"
            ) from None
    except LookupError:
        raise ValueError(f"its header declares charset={encoding}, which Python does not know") from None


def read_existing(path: Path) -> polib.POFile | None:
    """The PO file at ``path``, None if there is none (or it is a stream:
    ``-``); an unreadable one is an error."""
    if is_stream(path) or not path.exists():
        return None
    if not path.is_file():  # a FIFO would block the read forever
        raise ZhenError(f"{path} is not a regular file; zhen reads and writes only regular files")
    try:
        return read_po(path)
    except (OSError, UnicodeError, LookupError, ValueError) as err:
        raise ZhenError(
            f"{path} exists but cannot be read as a PO file ({err}); it may hold reviewed "
            "work, so nothing was written: fix it or move it away"
        ) from None


# A keyword or continuation line of a PO entry, live or obsolete ("#~ ").
_STRING_LINE = re.compile(r'(?:#~\s*)?(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"')
_CLOSED_STRING = re.compile(r'"(?:[^"\\]|\\.)*"\s*')


def _check_strings_closed(text: str) -> None:
    """Reject unterminated strings, the mark of a truncated file.

    polib reads ``msgid "broken`` as the msgid "broke" without complaint, so
    a file cut off mid-write would silently lose text.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        start = _STRING_LINE.match(line)
        if start and not _CLOSED_STRING.fullmatch(line, start.end() - 1):
            raise ValueError(f"unterminated string on line {number}")


def _same_file(origin: str, path: Path) -> bool:
    try:
        return printable(str(Path(origin).resolve())) == printable(str(path.resolve()))
    except OSError:
        return False


@functools.lru_cache(maxsize=64)  # the same few paths, once per occurrence
def _reference_path(path: str) -> str:
    """GNU gettext (0.20+) wraps file names containing spaces in U+2068…U+2069."""
    path = printable(path)
    return f"\u2068{path}\u2069" if any(c.isspace() for c in path) else path


def _draft(unit: Unit) -> bool:
    """Machine output is a draft; an approved translation never; an aligned
    human translation only when the aligner warned about it (uncertain, or
    no counterpart found)."""
    if unit.approval is not None:
        return False
    return not unit.aligned or bool(unit.warnings)


def entry_comment(unit: Unit, provenance: Provenance, path: Path | None) -> str:
    if unit.approval is not None and path is not None and _same_file(unit.approval.origin, path):
        lines = [f"Approved in this file{unit.approval.by()} on {unit.approval.day()}"]
    elif unit.approval is not None:
        where = ", in the same context" if unit.context != ("", "") and unit.approval.context == unit.context else ""
        lines = [f"Approved translation from the translation memory{where} ({unit.approval.note()})"]
    elif unit.aligned:
        lines = [f"From the {provenance.model}, aligned by zhen; alignment confidence {unit.confidence:.2f}"]
    elif unit.copied:
        lines = ["Copied from the source: it has no Chinese to translate"]
    elif unit.near is not None and unit.fuzzy_matched:
        lines = [f"Fuzzy match {unit.near.score:.0%} from the translation memory ({unit.near.approval.note()})"]
    else:
        model_score = "" if unit.logprob is None else f"; model log-probability {unit.logprob:.2f} per token"
        lines = [f"Machine translation by {provenance.model}; confidence {unit.confidence:.2f}{model_score}"]
    lines += [f"{ALIGNED_SENTENCES} {bead}" for bead in unit.beads]
    if unit.terms:
        lines.append(f"Glossary {unit.glossary}: " + "; ".join(f"{zh} → {en}" for zh, en in unit.terms))
    lines += [f"Check: {warning}" for warning in unit.warnings]
    return clean_segment("\n".join(lines))


@dataclass(frozen=True)
class EntryNotes:
    """What zhen's comment on a PO entry says (:func:`entry_comment`), read back."""

    confidence: float | None  # None where a person approved it
    aligned: bool
    warnings: tuple[str, ...]
    beads: tuple[Bead, ...]


# The first line of each comment entry_comment writes.
_ZHEN_COMMENT = re.compile(
    r"^(?:Machine translation by .*; confidence (?P<mt>[\d.]+)"
    r"|Fuzzy match (?P<fuzzy>\d+)% from the translation memory"
    r"|From the .*, aligned by zhen; alignment confidence (?P<aligned>[\d.]+)"
    r"|Approved in this file|Approved translation from the translation memory|Copied from the source)"
)


def entry_notes(comment: str) -> EntryNotes | None:
    """zhen's comment on an entry, read back from its extracted comment
    (after the catalog's own lines, if any); None if zhen wrote none."""
    lines = comment.splitlines()
    first = next((i for i, line in enumerate(lines) if _ZHEN_COMMENT.match(line)), None)
    if first is None:
        return None
    found = _ZHEN_COMMENT.match(lines[first])
    assert found is not None
    fuzzy = found.group("fuzzy")
    score = found.group("mt") or found.group("aligned") or (str(int(fuzzy) / 100) if fuzzy else None)
    ours = lines[first + 1 :]
    prefix = f"{ALIGNED_SENTENCES} "
    beads = tuple(b for line in ours if line.startswith(prefix) and (b := Bead.parse(line[len(prefix) :])))
    return EntryNotes(
        confidence=float(score) if score else None,
        aligned=found.group("aligned") is not None,
        warnings=tuple(line[len("Check: ") :] for line in ours if line.startswith("Check: ")),
        beads=beads,
    )
