"""Stage 4b: write translation units as a gettext PO file for review.

One entry per unique source sentence: ``msgid`` is the Chinese, ``msgstr``
the machine translation, flagged ``fuzzy`` so that Poedit, Lokalize and
Weblate show it as a draft to review. The ``#.`` comment says which model
wrote it, how confident the checks are, and why it may be wrong; ``#:``
references point to every line the sentence occurs on.

A PO file already at the output path may hold a reviewer's work. Entries
they approved (translated and not fuzzy) are kept exactly, never replaced by
a new machine draft; approved entries whose sentence left the document
become obsolete (``#~``), as ``msgmerge`` does. A file there that cannot be
read is an error, and nothing is written over it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polib

from . import __version__
from .data import Provenance, Unit
from .errors import ZhenError
from .textio import atomic_write, clean_segment


# Header fields zhen owns; on a rerun the others keep what the reviewer's
# editor set (Last-Translator, PO-Revision-Date, Language, X-Poedit-*, ...).
_GENERATED_FIELDS = ("POT-Creation-Date", "X-Generator")


def write_po(units: Sequence[Unit], path: str | Path, provenance: Provenance, source_path: str) -> None:
    """Write ``units`` to ``path`` atomically, keeping reviewed entries already there."""
    po = po_file(units, provenance, source_path)
    previous = read_existing(Path(path))
    if previous is not None:
        keep_reviewed(po, previous)
    atomic_write(path, str(po).encode("utf-8"))


def po_file(units: Sequence[Unit], provenance: Provenance, source_path: str) -> polib.POFile:
    # No line wrapping: it keeps diffs of reviewed files small, and polib would
    # otherwise wrap `#:` references inside file names that contain spaces.
    po = polib.POFile(wrapwidth=0)
    if any(unit.aligned for unit in units):
        origin = f"Alignment of {source_path} (Chinese) with its English translation by zhen.\n"
    else:
        origin = f"Machine translation of {source_path} (Chinese) into English by zhen.\n"
    po.header = origin + (
        "Entries flagged fuzzy are unreviewed drafts: correct them and\n"
        "remove the fuzzy flag to approve them."
    )
    date = provenance.created.strftime("%Y-%m-%d %H:%M%z")
    po.metadata = {
        "Project-Id-Version": Path(source_path).name,
        "POT-Creation-Date": date,
        "PO-Revision-Date": date,
        "Last-Translator": f"zhen {__version__} (machine translation)",
        "Language-Team": "English",
        "Language": "en",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
        "X-Generator": f"zhen {__version__}",
        "X-Source-Language": "zh_CN",
    }
    for unit in units:
        po.append(
            polib.POEntry(
                msgid=clean_segment(unit.source),
                msgstr=clean_segment(unit.target),
                flags=["fuzzy"] if _draft(unit) else [],
                comment=_comment(unit, provenance),
                occurrences=[(_reference_path(path), str(line)) for path, line in unit.locations],
            )
        )
    return po


def keep_reviewed(po: polib.POFile, previous: polib.POFile) -> None:
    """Carry a reviewer's work in ``previous`` into the fresh ``po``, as msgmerge would.

    Approved entries keep their translation and flags; every entry keeps the
    reviewer's own comments (``# ...``); fuzzy entries take the new draft.
    The header is the reviewer's, but for the fields zhen owns.
    """
    current = {entry.msgid: entry for entry in po}
    for old in _one_per_msgid(previous):
        entry = current.get(old.msgid)
        if entry is None:
            if _approved(old):  # approved, but the sentence left the document
                old.obsolete = True
                po.append(old)
            continue
        entry.tcomment = old.tcomment
        if _approved(old):
            entry.msgstr = old.msgstr
            entry.flags = list(old.flags)
            entry.comment = "Reviewed translation, kept across runs"
    ours = {field: po.metadata[field] for field in _GENERATED_FIELDS}
    po.metadata = {**po.metadata, **previous.metadata, **ours}
    po.header = previous.header or po.header


def _one_per_msgid(entries: polib.POFile) -> list[polib.POEntry]:
    """A hand-edited file may repeat a msgid (msgfmt rejects that); keep one,
    an approved one if there is one."""
    chosen: dict[str, polib.POEntry] = {}
    for entry in entries:
        if entry.msgid not in chosen or (_approved(entry) and not _approved(chosen[entry.msgid])):
            chosen[entry.msgid] = entry
    return list(chosen.values())


def _approved(entry: polib.POEntry) -> bool:
    return bool(entry.msgstr) and not entry.fuzzy and not entry.msgid_plural


def read_existing(path: Path) -> polib.POFile | None:
    """The PO file at ``path``, None if there is none; an unreadable one is an error."""
    if not path.exists():
        return None
    try:
        text = path.read_text(encoding=polib.detect_encoding(str(path)))
        _check_strings_closed(text)
        return polib.pofile(text, wrapwidth=0)
    except (OSError, UnicodeDecodeError, LookupError, ValueError) as err:
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
    for number, line in enumerate(text.splitlines(), start=1):
        start = _STRING_LINE.match(line)
        if start and not _CLOSED_STRING.fullmatch(line, start.end() - 1):
            raise ValueError(f"unterminated string on line {number}")


def _reference_path(path: str) -> str:
    """GNU gettext (0.20+) wraps file names containing spaces in U+2068…U+2069."""
    return f"\u2068{path}\u2069" if any(c.isspace() for c in path) else path


def _draft(unit: Unit) -> bool:
    """Machine output is a draft; an aligned human translation only when the
    aligner warned about it (uncertain, or no counterpart found)."""
    return not unit.aligned or bool(unit.warnings)


def _comment(unit: Unit, provenance: Provenance) -> str:
    if unit.aligned:
        lines = [f"From the {provenance.model}, aligned by zhen; alignment confidence {unit.confidence:.2f}"]
    elif unit.copied:
        lines = ["Copied from the source: it has no Chinese to translate"]
    else:
        model_score = "" if unit.logprob is None else f"; model log-probability {unit.logprob:.2f} per token"
        lines = [f"Machine translation by {provenance.model}; confidence {unit.confidence:.2f}{model_score}"]
    lines += [f"Check: {warning}" for warning in unit.warnings]
    return clean_segment("\n".join(lines))
