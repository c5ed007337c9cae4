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
  side, so that a merged sentence must earn its place;
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
(bead scores and the best path), with ``weights`` (tuned on a literary
development set: ``benchmarks/tune_align.py``) and ``glosses`` (CC-CEDICT).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data import Bead
from .corridor import corridor
from .dp import MAX_SIDE, SHAPES, SKIPS, BandDots, Grid, bead_scores, best_path, with_evidence
from .features import sides, stems
from .weights import WITH_BRIDGE, WITHOUT_BRIDGE, Weights

__all__ = ["MAX_SIDE", "WITHOUT_BRIDGE", "WITH_BRIDGE", "Weights", "align_sentences", "stems"]


def align_sentences(
    source: Sequence[str],
    target: Sequence[str],
    bridge: Sequence[str] | None = None,
    weights: Weights | None = None,
) -> list[Bead]:
    """Align Chinese ``source`` sentences with English ``target`` sentences.

    ``bridge`` is a machine translation of each source sentence; without it
    dictionary glosses, lengths, quotations, numbers and Latin-script words
    guide the alignment. ``weights`` default to the set tuned for the case.
    Every sentence is in exactly one bead, in order.
    """
    if bridge is not None and len(bridge) != len(source):
        raise ValueError(f"{len(source)} source sentences but {len(bridge)} translations")
    if not source or not target:
        return [Bead((i,), (), 0.0) for i in range(len(source))] + [Bead((), (j,), 0.0) for j in range(len(target))]
    weights = weights or (WITHOUT_BRIDGE if bridge is None else WITH_BRIDGE)
    src, tgt = sides(source, target, bridge, weights.gloss_weight)
    lo, hi = corridor(src, tgt)
    grid = Grid(lo, hi)
    dots = BandDots(src.vectors, tgt.vectors, lo, hi)
    shapes = SHAPES + SKIPS
    # Per shape and corridor cell: where a bead ending there starts, and its score.
    starts = np.empty((len(shapes), len(grid.i)), dtype=np.int32)
    gains = np.empty((len(shapes), len(grid.i)), dtype=np.float32)
    for k, shape in enumerate(shapes):
        starts[k], gains[k] = bead_scores(shape, grid, src, tgt, dots, weights)
    beads = best_path(grid, shapes, starts, gains, weights)
    return [with_evidence(bead, src, tgt, dots) for bead in beads]
