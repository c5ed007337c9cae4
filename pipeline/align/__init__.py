"""Sentence alignment of a Chinese document with its existing English translation.

The machine translation of each source sentence is the bridge between the
two languages (the idea of Bleualign): a bead — a run of source sentences
with a run of target sentences, up to 6 on a side, or one sentence with no
counterpart — scores by

- the similarity of the bead's machine translation to its target text:
  cosine of IDF-weighted bags of crudely stemmed words and 4-letter word
  pieces, summed over the bead's sentences (so merged beads compare like
  with like), less each sentence's baseline similarity to unrelated
  sentences (Vecalign's normalisation: short, common sentences match
  everything a little), and each sentence's own similarity to the other
  side, so that a merged sentence must earn its place; with an English
  sentence encoder, the same similarities of the bridge's and the target's
  sentence vectors (each weighted by its length in words) take a share;
- how far its length in characters is from what the source predicts at
  this translation's own ratio (Gale-Church's measure, and Bertalign's
  damping of the similarity);
- whether quotations agree: a bead should not end inside a quotation on one
  side only, nor hold speech on one side only, and should open as many
  quotations on each side (translators keep the turns of a dialogue);
- its shape: 1-1 is the norm, larger beads and omissions cost more; a run
  of omitted sentences costs little more than its first.

Numbers and Latin-script words are copied into each source sentence's bag,
so they count even without a translation; without one, the bridge is the
source's dictionary glosses. The best path is found by dynamic programming
in a corridor around anchors (sentence pairs that are each other's best
match, in order), so time and memory grow linearly with the document.

The modules, in the order the work flows: ``features`` (what each sentence
looks like to the aligner), ``corridor`` (where the path may run), ``dp``
(bead scores and the best path), with ``weights`` (fitted on a literary
development set: ``benchmarks/tune_align.py``) and ``glosses`` (CC-CEDICT).
``prepare`` does everything the weights do not change (vectors, corridor,
dot products) and ``solve`` the rest, so that fitting re-runs only ``solve``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..data import Bead
from .corridor import corridor
from .dp import MAX_SIDE, SHAPES, SKIPS, Comparison, Grid, bead_scores, best_path, with_evidence
from .features import Side, meanings, sides, stems
from .weights import WITH_BRIDGE, WITH_ENCODER, WITHOUT_BRIDGE, Weights

__all__ = [
    "MAX_SIDE",
    "WITHOUT_BRIDGE",
    "WITH_BRIDGE",
    "WITH_ENCODER",
    "Encoder",
    "Weights",
    "align_sentences",
    "default_weights",
    "prepare",
    "solve",
    "stems",
]


class Encoder(Protocol):
    """A sentence encoder (pipeline.encoder.SentenceEncoder, or any other)."""

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """One unit vector per sentence, as rows."""
        ...


def align_sentences(
    source: Sequence[str],
    target: Sequence[str],
    bridge: Sequence[str] | None = None,
    weights: Weights | None = None,
    encoder: Encoder | None = None,
) -> list[Bead]:
    """Align Chinese ``source`` sentences with English ``target`` sentences.

    ``bridge`` is a machine translation of each source sentence; without it
    dictionary glosses, lengths, quotations, numbers and Latin-script words
    guide the alignment. With a bridge, an English sentence ``encoder`` adds
    how alike the bridge and the target mean. ``weights`` default to the set
    tuned for the case. Every sentence is in exactly one bead, in order.
    """
    if bridge is not None and len(bridge) != len(source):
        raise ValueError(f"{len(source)} source sentences but {len(bridge)} translations")
    if not source or not target:
        return [Bead((i,), (), 0.0) for i in range(len(source))] + [Bead((), (j,), 0.0) for j in range(len(target))]
    encoder = encoder if bridge is not None else None  # it reads English only
    weights = weights or default_weights(bridge is not None, encoder is not None)
    return solve(prepare(source, target, bridge, weights.gloss_weight, encoder), weights)


@dataclass
class Problem:
    """Everything about two documents that the weights do not change."""

    src: Side
    tgt: Side
    grid: Grid
    words: Comparison
    meaning: Comparison | None


def prepare(
    source: Sequence[str],
    target: Sequence[str],
    bridge: Sequence[str] | None,
    gloss_weight: float,
    encoder: Encoder | None = None,
) -> Problem:
    """The sentences' vectors, the corridor and the dot products in it."""
    with ThreadPoolExecutor(1) as background:
        # The encoder (CTranslate2, outside the GIL) works while the words are counted.
        embedded = background.submit(encoder.embed, [*bridge, *target]) if encoder and bridge is not None else None
        src, tgt = sides(source, target, bridge, gloss_weight)
        grid = Grid(*corridor(src, tgt))
        words = Comparison.of(src.words, tgt.words, grid)
        meaning = None
        if embedded is not None and bridge is not None:
            meaning = Comparison.of(*meanings(bridge, target, embedded.result()), grid)
    return Problem(src, tgt, grid, words, meaning)


def solve(problem: Problem, weights: Weights) -> list[Bead]:
    """The best path of beads through the problem's corridor."""
    # Each kind of evidence, with its share of the similarity.
    evidence = [(problem.words, 1.0)]
    if problem.meaning is not None:
        evidence = [(problem.words, 1 - weights.meaning_share), (problem.meaning, weights.meaning_share)]
    shapes = SHAPES + SKIPS
    grid = problem.grid
    # Per shape and corridor cell: where a bead ending there starts, and its score.
    starts = np.empty((len(shapes), len(grid.i)), dtype=np.int32)
    gains = np.empty((len(shapes), len(grid.i)), dtype=np.float32)
    for k, shape in enumerate(shapes):
        starts[k], gains[k] = bead_scores(shape, grid, problem.src, problem.tgt, evidence, weights)
    beads = best_path(grid, shapes, starts, gains, weights)
    return [with_evidence(bead, problem.words) for bead in beads]


def default_weights(bridged: bool, encoded: bool) -> Weights:
    """The weights tuned for aligning with or without a bridge and an encoder."""
    if not bridged:
        return WITHOUT_BRIDGE
    return WITH_ENCODER if encoded else WITH_BRIDGE
