"""Bead scores and the best path through the corridor (dynamic programming).

Every array is indexed by corridor cell, not by source × target, so time and
memory grow linearly with the documents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..data import Bead
from .features import Evidence, SentenceVectors, Side, span_sum
from .weights import Weights

# Bead shapes (source sentences, target sentences).
MAX_SIDE = 6
SHAPES = [(a, b) for a in range(1, 5) for b in range(1, 5)] + [(1, 5), (5, 1), (1, 6), (6, 1)]
SKIPS = [(1, 0), (0, 1)]
EVIDENCE_COSINE = 0.15  # beads sharing less than this with the bridge lose confidence


class Grid:
    """The corridor's cells (i, j), row by row, as flat arrays."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        self.lo, self.hi = lo, hi
        widths = hi - lo + 1
        self.row_start = np.concatenate([[0], np.cumsum(widths)])
        self.i = np.repeat(np.arange(len(lo)), widths)
        self.j = lo[self.i] + np.arange(self.row_start[-1]) - self.row_start[self.i]

    def cell(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Flat index of (i, j), or -1 outside the corridor."""
        inside = (i >= 0) & (i < len(self.lo))
        safe = np.where(inside, i, 0)
        inside &= (j >= self.lo[safe]) & (j <= self.hi[safe])
        return np.where(inside, self.row_start[safe] + j - self.lo[safe], -1)


class BandDots:
    """Dot products of each source sentence p with the target sentences that
    beads through p can reach, with running sums along each row."""

    def __init__(self, src: SentenceVectors, tgt: SentenceVectors, lo: np.ndarray, hi: np.ndarray):
        n = len(src)
        after = np.arange(1, n + 1)
        self.first = np.maximum(lo[after] - MAX_SIDE, 0)
        reach = np.array([hi[p + 1 : p + 1 + MAX_SIDE].max() for p in range(n)])
        widths = reach - self.first + 1
        self.start = np.concatenate([[0], np.cumsum(widths)])
        rows = np.repeat(np.arange(n), widths)
        cols = self.first[rows] + np.arange(self.start[-1]) - self.start[rows]
        dots = src.dots_with(tgt, rows, np.minimum(cols, len(tgt) - 1)) * (cols < len(tgt))
        self.running = np.concatenate([[0.0], np.cumsum(dots)])  # differences within a row are row sums

    def block(self, first_row: np.ndarray, rows: int, first_col: np.ndarray, cols: int) -> np.ndarray:
        """Sum of dot(p, q) for p in first_row..+rows and q in first_col..+cols."""
        total = np.zeros(len(first_row))
        for p_offset in range(rows):
            p = first_row + p_offset
            base = self.start[p] - self.first[p]
            total += self.running[base + first_col + cols] - self.running[base + first_col]
        return total


@dataclass
class Comparison:
    """One kind of evidence on both sides, and its dot products in the corridor."""

    src: Evidence
    tgt: Evidence
    dots: BandDots

    @classmethod
    def of(cls, src: Evidence, tgt: Evidence, grid: Grid) -> Comparison:
        return cls(src, tgt, BandDots(src.vectors, tgt.vectors, grid.lo, grid.hi))


def bead_scores(
    shape: tuple[int, int],
    grid: Grid,
    src: Side,
    tgt: Side,
    evidence: list[tuple[Comparison, float]],
    w: Weights,
) -> tuple[np.ndarray, np.ndarray]:
    """For every corridor cell, the cell a bead of this shape ending there
    starts from (-1 if none) and the bead's score.

    The similarity of the bead's two texts is damped when their lengths
    disagree (Bertalign's log2(1 + ratio)) and counts a little more for
    larger beads; each sentence's own similarity to the other side is added,
    so that a sentence merged into a bead must earn its place there.
    ``evidence`` lists each kind of vector with its share of both similarities.
    """
    a, b = shape
    start = grid.cell(grid.i - a, grid.j - b)
    valid = np.flatnonzero(start >= 0)
    i, j = grid.i[valid], grid.j[valid]
    score = -w.quote_boundary * (src.in_quote[i] != tgt.in_quote[j])
    if a and b:
        expected, actual = span_sum(src.lengths, i, a), span_sum(tgt.lengths, j, b)
        ratio = np.minimum(expected, actual) / np.maximum(np.maximum(expected, actual), 1.0)
        similarity = sum(share * _similarity(a, b, i, j, kind, w.balance_power) for kind, share in evidence)
        similarity *= np.log2(1 + ratio) ** w.length_power
        score = score + similarity * ((a + b) / 2) ** w.size_power + w.bead_bonus
        score += w.member_weight * sum(share * _member_similarity(a, b, i, j, kind) for kind, share in evidence)
        score -= w.extra_on_longer_side * (max(a, b) - 1) + w.extra_on_shorter_side * (min(a, b) - 1)
        score -= w.length_weight * _length_deviation(expected, actual, w.length_spread)
        quoted = (span_sum(src.quoted, i, a) > 0) != (span_sum(tgt.quoted, j, b) > 0)
        score -= w.quote_presence * quoted
        score -= w.quote_count * np.abs(span_sum(src.opened, i, a) - span_sum(tgt.opened, j, b))
    else:
        score = score - w.skip_cost
    scores = np.full(len(grid.i), -np.inf)
    scores[valid] = score
    return start, scores


def _member_similarity(a, b, i, j, kind: Comparison) -> np.ndarray:
    """Half the sum, over the bead's sentences, of each one's cosine with the
    other side's text less its baseline: every sentence earns its own place."""
    src, tgt, dots = kind.src, kind.tgt, kind.dots
    total = np.zeros(len(i))
    y_norm, x_norm = tgt.span_norms(b)[j], src.span_norms(a)[i]
    for k in range(a):
        p = i - a + k
        norms = src.span_norms(1)[p + 1] * y_norm
        total += np.divide(dots.block(p, 1, j - b, b), norms, out=np.zeros(len(i)), where=norms > 0) - src.baseline[p]
    for k in range(b):
        q = j - b + k
        norms = tgt.span_norms(1)[q + 1] * x_norm
        total += np.divide(dots.block(i - a, a, q, 1), norms, out=np.zeros(len(i)), where=norms > 0) - tgt.baseline[q]
    return total / 2


def _similarity(a, b, i, j, kind: Comparison, balance_power: float) -> np.ndarray:
    """Cosine of the bead's summed vectors, lowered when one side carries
    much more weight than the other (content the other side lacks), less
    the sentences' mean baseline."""
    src, tgt, dots = kind.src, kind.tgt, kind.dots
    x, y = src.span_norms(a)[i], tgt.span_norms(b)[j]
    norms = x * y
    cosine = np.divide(dots.block(i - a, a, j - b, b), norms, out=np.zeros(len(i)), where=norms > 0)
    balance = np.divide(2 * norms, x * x + y * y, out=np.zeros(len(i)), where=norms > 0)
    return cosine * balance**balance_power - (span_sum(src.baseline, i, a) / a + span_sum(tgt.baseline, j, b) / b) / 2


def _length_deviation(expected: np.ndarray, actual: np.ndarray, long_spread: float) -> np.ndarray:
    """Squared log-ratio in units of the spread, which is wider for short
    sentences (a few characters either way is a large ratio)."""
    spread = np.sqrt(long_spread**2 + 4.0 / np.maximum(expected, 1.0))
    return np.minimum((np.log((actual + 1) / (expected + 1)) / spread) ** 2, 25.0)


def best_path(
    grid: Grid, shapes: list[tuple[int, int]], starts: np.ndarray, gains: np.ndarray, w: Weights
) -> list[Bead]:
    """Dynamic programming over the corridor, row by row.

    Sentences with no counterpart come in runs (an untranslated passage, a
    translator's addition), so a run pays skip_cost once and skip_extend for
    each further sentence, as gaps do in sequence alignment (Gotoh). Runs of
    source sentences go down a column (state ``run``); runs of target
    sentences go along a row and are found for the whole row at once.
    """
    down, along = shapes.index((1, 0)), shapes.index((0, 1))
    extend_bonus = w.skip_cost - w.skip_extend  # a run's further sentences cost only skip_extend
    total = np.full(len(grid.i), -np.inf)  # best path to the cell
    run = np.full(len(grid.i), -np.inf)  # ... whose last bead is a 1-0 skip
    shape_in = np.full(len(grid.i), -1, dtype=np.int64)  # last bead of the best path not ending in a 0-1 run
    run_goes_on = np.zeros(len(grid.i), dtype=bool)  # `run` continues the run above
    row_run_from = np.full(len(grid.i), -1, dtype=np.int64)  # `total` ends a 0-1 run from this cell
    for row in range(len(grid.lo)):
        cells = np.arange(grid.row_start[row], grid.row_start[row + 1])
        s, g = starts[:, cells], gains[:, cells]
        candidates = np.where(s >= 0, total[np.maximum(s, 0)] + g, -np.inf)
        above = np.maximum(s[down], 0)
        continued = np.where(s[down] >= 0, run[above] + g[down] + extend_bonus, -np.inf)
        run_goes_on[cells] = continued > candidates[down]
        run[cells] = candidates[down] = np.maximum(continued, candidates[down])
        candidates[along] = -np.inf
        shape_in[cells] = candidates.argmax(axis=0)
        value = candidates[shape_in[cells], np.arange(len(cells))]
        if row == 0:
            value[0] = 0.0
        # A run of 0-1 beads from column c0 to c: skip_cost + skip_extend × (c - c0 - 1).
        columns = np.arange(len(cells))
        reach = value + w.skip_extend * columns
        best_reach = np.maximum.accumulate(reach)
        best_from = np.maximum.accumulate(np.where(reach >= best_reach, columns, 0))
        along_value = np.full(len(cells), -np.inf)
        along_value[1:] = best_reach[:-1] - w.skip_extend * columns[1:] + g[along, 1:] + w.skip_extend
        from_run = along_value > value
        total[cells] = np.where(from_run, along_value, value)
        row_run_from[cells] = np.where(from_run, cells[0] + np.concatenate([[0], best_from[:-1]]), -1)
    return _trace(grid, shapes, gains, down, shape_in, run_goes_on, row_run_from, starts)


def _trace(grid, shapes, gains, down, shape_in, run_goes_on, row_run_from, starts) -> list[Bead]:
    """Follow the choices back from the corridor's last cell (n, m). The
    state says which best path reached the cell: any (``total``), one not
    ending in a 0-1 run (``arrived``), or one inside a 1-0 run (``run``)."""
    beads = []
    cell, state = int(grid.row_start[-1] - 1), "total"
    while cell > 0:
        i, j = int(grid.i[cell]), int(grid.j[cell])
        if state == "total" and row_run_from[cell] >= 0:
            start = int(row_run_from[cell])
            beads += [Bead((), (k,), 0.0) for k in range(j - 1, int(grid.j[start]) - 1, -1)]
            cell, state = start, "arrived"
        elif state == "run" or shape_in[cell] == down:
            beads.append(Bead((i - 1,), (), 0.0))
            state = "run" if run_goes_on[cell] else "total"
            cell = int(starts[down, cell])
        else:
            a, b = shapes[shape_in[cell]]
            beads.append(
                Bead(
                    tuple(range(i - a, i)),
                    tuple(range(j - b, j)),
                    _confidence(a, b, float(gains[shape_in[cell], cell])),
                )
            )
            cell, state = int(starts[shape_in[cell], cell]), "total"
    return beads[::-1]


def with_evidence(bead: Bead, words: Comparison) -> Bead:
    """Scale down the confidence of a bead whose texts share (almost) nothing:
    the path put it there, but a reviewer should look."""
    src, tgt, dots = words.src, words.tgt, words.dots
    a, b = len(bead.source), len(bead.target)
    if not (a and b):
        return bead
    i, j = np.array([bead.source[-1] + 1]), np.array([bead.target[-1] + 1])
    norms = src.span_norms(a)[i] * tgt.span_norms(b)[j]
    cosine = float(dots.block(i - a, a, j - b, b)[0] / norms[0]) if norms[0] > 0 else 0.0
    return replace(bead, confidence=round(bead.confidence * min(1.0, cosine / EVIDENCE_COSINE), 3))


def _confidence(a: int, b: int, score: float) -> float:
    """The chance that the bead is exactly right, from its score: a logistic
    fitted on the development texts (about 0.7 at score 0, 0.96 at 0.7)."""
    if not (a and b):
        return 0.0
    return round(1 / (1 + math.exp(-(score + 0.5) / 0.33)), 3)
