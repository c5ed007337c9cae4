"""Sentence alignments as Vecalign writes them, and how they are scored.

One bead per line, ``[i,j]:[k]``: source sentences i and j (0-based) align
with target sentence k; ``[3]:[]`` and ``[]:[5]`` have no counterpart. The
metric is Vecalign's (Thompson & Koehn 2019), as Bertalign reports it:
strict counts exact beads, lax counts a bead right when it shares a
source–target link with a gold bead; precision is over all system beads,
recall over gold beads with both sides non-empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .data import Bead
from .errors import ZhenError


def format_beads(beads: Iterable[Bead]) -> str:
    return "".join(f"{bead}\n" for bead in beads)


def parse_beads(text: str, where: str = "alignment") -> list[Bead]:
    beads = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        bead = Bead.parse(line)
        if bead is None:
            raise ZhenError(f"{where}:{number}: not a bead like [0,1]:[2]: {line.strip()[:60]!r}")
        beads.append(bead)
    return beads


@dataclass(frozen=True)
class Scores:
    strict: tuple[float, float, float]  # precision, recall, F1
    lax: tuple[float, float, float]


def evaluate(gold: Sequence[Sequence[Bead]], system: Sequence[Sequence[Bead]]) -> Scores:
    """Strict and lax precision, recall and F1, counted over all document pairs."""
    precision, recall = [0, 0, 0, 0], [0, 0, 0, 0]
    for gold_beads, system_beads in zip(gold, system, strict=True):
        _add(precision, _matches(gold_beads, system_beads))
        both = [[b for b in beads if b.source and b.target] for beads in (gold_beads, system_beads)]
        _add(recall, _matches(both[1], both[0]))  # recall: gold beads found among the system's
    return Scores(strict=_combine(precision, recall, 0), lax=_combine(precision, recall, 2))


def _matches(gold: Sequence[Bead], system: Sequence[Bead]) -> list[int]:
    """[strict right, strict wrong, lax right, lax wrong] for the system's beads."""
    exact = {(frozenset(b.source), frozenset(b.target)) for b in gold}
    links = {(s, t) for b in gold for s in b.source for t in b.target}
    counts = [0, 0, 0, 0]
    for bead in system:
        if not bead.source and not bead.target:
            continue
        if (frozenset(bead.source), frozenset(bead.target)) in exact:
            counts[0] += 1
            counts[2] += 1
            continue
        counts[1] += 1
        if any((s, t) in links for s in bead.source for t in bead.target):
            counts[2] += 1
        else:
            counts[3] += 1
    return counts


def _add(total: list[int], counts: list[int]) -> None:
    for k, value in enumerate(counts):
        total[k] += value


def _combine(precision: list[int], recall: list[int], at: int) -> tuple[float, float, float]:
    p = _ratio(precision[at], precision[at] + precision[at + 1])
    r = _ratio(recall[at], recall[at] + recall[at + 1])
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _ratio(right: int, total: int) -> float:
    return right / total if total else 0.0
