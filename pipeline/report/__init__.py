"""The review report: one self-contained HTML page of what zhen wrote,
worst first, for a reviewer (which units need a person) and their manager
(how much is done).

It reads the PO and TMX files ``zhen run`` and ``zhen align`` wrote: a PO
where there is one (it is what the reviewer edits, so its states are the
current ones, and it has the locations), else the TMX. The page embeds the
units as gzip-compressed JSON, which the page's script unpacks and renders
with ``textContent`` (never as markup), with a dot plot of each alignment;
the summary and the confidence histogram are drawn here, every text escaped. A
Content-Security-Policy lets only the page's own script run and forbids
every network request.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path

import polib

from .. import TOOL, __version__
from ..data import Bead
from ..errors import ZhenError
from ..po import entry_notes, read_po
from ..score import LOW_CONFIDENCE, warning_kind
from ..textio import atomic_write, printable
from ..tmx import BEAD, CONFIDENCE, CONFIRMATION_LEVEL, ORIGIN, read_units

log = logging.getLogger(__name__)

APPROVED, DRAFT, ALIGNED = "approved", "draft", "aligned"
STATES = (DRAFT, ALIGNED, APPROVED)


@dataclass(frozen=True)
class ReportUnit:
    source: str
    target: str
    state: str  # APPROVED, DRAFT or ALIGNED
    confidence: float | None  # None where a person approved it
    warnings: tuple[str, ...]
    locations: tuple[str, ...]  # "file:line"
    beads: tuple[Bead, ...] = ()  # an aligned unit's sentences on each side


@dataclass(frozen=True)
class ReportDocument:
    path: str  # the PO or TMX file read, printable
    units: tuple[ReportUnit, ...]


# ---------------------------------------------------------------- reading


def read_outputs(paths: Iterable[str | Path]) -> list[ReportDocument]:
    """The documents at ``paths``: output directories (each PO and TMX zhen
    wrote there, a document's PO preferred to its TMX), PO or TMX files.
    A file zhen did not write, or that cannot be read, is an error."""
    documents: dict[Path, ReportDocument] = {}
    for given in map(Path, paths):
        if given.is_dir():
            for path in _outputs_in(given):
                documents.setdefault(path.resolve(), _read(path))
        elif given.suffix.lower() in (".po", ".tmx"):
            documents.setdefault(given.resolve(), _read(given, required=True))
        else:
            raise ZhenError(f"{printable(str(given))}: not a directory, PO or TMX file written by zhen")
    return list(documents.values())


def _outputs_in(directory: Path) -> list[Path]:
    """The PO files in ``directory``, and the TMX files that have none beside them."""
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".po", ".tmx") and p.is_file())
    with_po = {p.with_suffix("") for p in files if p.suffix.lower() == ".po"}
    chosen = [p for p in files if p.suffix.lower() == ".po" or p.with_suffix("") not in with_po]
    if not chosen:
        raise ZhenError(f"{printable(str(directory))}: no PO or TMX files to report on")
    return chosen


def _read(path: Path, required: bool = False) -> ReportDocument:
    where = printable(str(path))
    try:
        units = _po_units(path) if path.suffix.lower() == ".po" else _tmx_units(path)
    except (OSError, UnicodeError, ValueError) as err:
        raise ZhenError(f"{where} cannot be read ({err})") from None
    if units is None:
        raise ZhenError(f"{where} was not written by zhen run or zhen align")
    return ReportDocument(where, tuple(units))


def _po_units(path: Path) -> list[ReportUnit] | None:
    po = read_po(path)
    generator = po.metadata.get("X-Generator", "")
    units, ours = [], generator.startswith(f"{TOOL} ")
    for entry in po:
        if entry.obsolete or not entry.msgid:
            continue
        notes = entry_notes(entry.comment)
        ours = ours or notes is not None
        units.append(_po_unit(entry, notes))
    return units if ours else None


def _po_unit(entry: polib.POEntry, notes) -> ReportUnit:
    target = entry.msgstr or " / ".join(v for _, v in sorted(entry.msgstr_plural.items()))
    approved = bool(target) and not entry.fuzzy
    aligned = notes is not None and notes.aligned
    return ReportUnit(
        source=entry.msgid,
        target=target,
        state=APPROVED if approved else ALIGNED if aligned else DRAFT,
        confidence=None if approved or notes is None else notes.confidence,
        warnings=notes.warnings if notes else (),
        locations=_locations(entry.occurrences),
        beads=notes.beads if notes else (),
    )


def _locations(occurrences: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """``file:line, line`` for each file, in order."""
    lines: dict[str, list[str]] = {}
    for file, line in occurrences:
        lines.setdefault(file, []).append(line)
    return tuple(f"{file}:{', '.join(filter(None, found))}".rstrip(":") for file, found in lines.items())


def _tmx_units(path: Path) -> list[ReportUnit] | None:
    header, units = read_units(path)
    if header.get("creationtool") != TOOL:
        return None
    return [_tmx_unit(unit) for unit in units]


def _tmx_unit(unit) -> ReportUnit:
    props = unit.props
    approved = "ApprovedTranslation" in props.get(CONFIRMATION_LEVEL, [])
    aligned = "alignment" in props.get(ORIGIN, [])
    confidence = next(iter(props.get(CONFIDENCE, [])), None)
    beads = tuple(b for text in props.get(BEAD, []) if (b := Bead.parse(text)))
    return ReportUnit(
        source=unit.source,
        target=unit.target,
        state=APPROVED if approved else ALIGNED if aligned else DRAFT,
        confidence=None if approved or confidence is None else float(confidence),
        warnings=tuple(note for note in unit.notes if warning_kind(note) != "other" or not approved),
        locations=(),
        beads=beads,
    )


# ---------------------------------------------------------------- writing


def write_report(paths: Iterable[str | Path], output: str | Path) -> list[ReportDocument]:
    documents = read_outputs(paths)
    atomic_write(output, render(documents).encode("utf-8"))
    total = sum(len(d.units) for d in documents)
    many = "document" if len(documents) == 1 else "documents"
    log.info("report of %d units in %d %s -> %s", total, len(documents), many, printable(str(output)))
    return documents


def render(documents: Sequence[ReportDocument]) -> str:
    """The report page for ``documents``."""
    page = resources.files(__package__)
    script = (page / "page.js").read_text(encoding="utf-8")
    units = [unit for document in documents for unit in document.units]
    fields = {
        "title": "zhen review report",
        "generator": escape(f"{TOOL} {__version__}"),
        "script_hash": base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii"),
        "style": (page / "page.css").read_text(encoding="utf-8"),
        "summary": _summary(documents),
        "histogram": _histogram(units),
        "filters": _filters(documents, units),
        "data": _packed(documents),
        "script": script,
    }
    return (page / "page.html").read_text(encoding="utf-8").format(**fields)


def _packed(documents: Sequence[ReportDocument]) -> str:
    """The units as gzip-compressed JSON in base64: a fifth of the plain JSON's size."""
    rows = [
        [
            number,
            unit.state,
            unit.confidence,
            unit.source,
            unit.target,
            [[warning_kind(w), w] for w in unit.warnings],
            list(unit.locations),
            [str(bead) for bead in unit.beads],
        ]
        for number, document in enumerate(documents)
        for unit in document.units
    ]
    payload = json.dumps({"documents": [d.path for d in documents], "units": rows}, ensure_ascii=False)
    return base64.b64encode(gzip.compress(payload.encode("utf-8"), mtime=0)).decode("ascii")


def _below(unit: ReportUnit) -> bool:
    return unit.confidence is not None and unit.confidence < LOW_CONFIDENCE


def _summary(documents: Sequence[ReportDocument]) -> str:
    """Per document and in total: units by state, how many of low confidence, warnings by kind."""
    kinds = sorted({warning_kind(w) for d in documents for u in d.units for w in u.warnings})
    head = ["document", "units", *STATES, f"confidence &lt; {LOW_CONFIDENCE}", *map(escape, kinds)]
    rows = [(d.path, d.units) for d in documents]
    if len(documents) > 1:
        rows.append(("all documents", tuple(u for d in documents for u in d.units)))
    body = []
    for name, units in rows:
        states = Counter(u.state for u in units)
        found = Counter(warning_kind(w) for u in units for w in u.warnings)
        cells = [len(units), *(states[s] for s in STATES), sum(map(_below, units)), *(found[k] for k in kinds)]
        body.append(f"<tr><th scope=row>{escape(name)}</th>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    header = "".join(f"<th scope=col>{h}</th>" for h in head)
    return f"<table class=summary><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _histogram(units: Sequence[ReportUnit], bins: int = 10) -> str:
    """How many units (not approved) have each confidence, as an SVG bar chart."""
    counts = [0] * bins
    for unit in units:
        if unit.confidence is not None:
            counts[min(bins - 1, int(unit.confidence * bins))] += 1
    tallest, width, height = max(counts) or 1, 32, 120
    bars = []
    for number, count in enumerate(counts):
        low, high = number / bins, (number + 1) / bins
        bar = round(height * count / tallest)
        x = number * width
        bars.append(
            f"<g><title>{low:.1f}–{high:.1f}: {count} units</title>"
            f'<rect class="bar" x="{x + 2}" y="{height - bar}" width="{width - 4}" height="{bar}" '
            f'fill="{_colour(low + 0.5 / bins)}"/>'
            f'<text x="{x + width / 2}" y="{height + 14}" text-anchor="middle">{low:.1f}</text>'
            f'<text x="{x + width / 2}" y="{height - bar - 3}" text-anchor="middle">{count}</text></g>'
        )
    return (
        f'<svg class="histogram" role="img" aria-label="confidence histogram" '
        f'viewBox="0 -16 {bins * width} {height + 34}" width="{bins * width}" height="{height + 34}">'
        f"{''.join(bars)}</svg>"
    )


def _colour(confidence: float) -> str:
    """Red (0) through amber to green (1)."""
    return f"hsl({round(120 * max(0.0, min(1.0, confidence)))} 70% 42%)"


def _filters(documents: Sequence[ReportDocument], units: Sequence[ReportUnit]) -> str:
    def options(values: Iterable[tuple[str, str]]) -> str:
        return "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in values)

    kinds = sorted({warning_kind(w) for u in units for w in u.warnings})
    return (
        '<label>document <select id="document"><option value="">all</option>'
        f"{options((str(n), d.path) for n, d in enumerate(documents))}</select></label>"
        '<label>state <select id="state"><option value="">all</option>'
        f"{options((s, s) for s in STATES)}</select></label>"
        '<label>warning <select id="kind"><option value="">any</option><option value="-">with a warning</option>'
        f"{options((k, k) for k in kinds)}</select></label>"
    )
