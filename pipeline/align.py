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
source's dictionary glosses (``glossary.py``). The best path is found by dynamic
programming in a corridor around anchors (sentence pairs that are each
other's best match, in order), so time and memory grow linearly with the
document. Every array below is indexed by corridor cell, not by
source × target, for the same reason.

The weights were tuned on three texts of a literary development set and
checked on three others (see ``benchmarks/bench_align.py``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .data import Bead, Sentence, Unit
from .glossary import glosses
from .han import HAN

# Bead shapes (source sentences, target sentences).
MAX_SIDE = 6
SHAPES = [(a, b) for a in range(1, 5) for b in range(1, 5)] + [(1, 5), (5, 1), (1, 6), (6, 1)]
SKIPS = [(1, 0), (0, 1)]


@dataclass(frozen=True)
class Weights:
    """How a bead scores (see _bead_scores): its similarity, plus bead_bonus,
    less the costs. Tuned on mac-dev 001-003 and checked on 004-006, with
    and without a machine translation as the bridge."""

    gloss_weight: float  # of a dictionary gloss, against a word of the machine translation
    bead_bonus: float
    size_power: float  # similarity × (sentences in the bead / 2) ** size_power
    member_weight: float  # weight of each sentence's own similarity to the other side
    length_power: float  # similarity × log2(1 + shorter/longer length) ** length_power
    balance_power: float  # similarity × (2|x||y| / (|x|² + |y|²)) ** balance_power
    extra_on_longer_side: float  # per sentence beyond the first on the side with more
    extra_on_shorter_side: float
    length_weight: float  # per unit of squared Gale-Church deviation
    length_spread: float  # spread of log(actual/expected length) for long sentences
    quote_boundary: float  # the bead ends inside a quotation on one side only
    quote_presence: float  # one side has speech (words in quotation marks), the other none
    quote_count: float  # per quotation opened on one side more than on the other
    skip_cost: float  # a sentence with no counterpart, or the first of a run of them
    skip_extend: float  # each further sentence of such a run


WITH_BRIDGE = Weights(
    gloss_weight=0.0, bead_bonus=0.142, size_power=0.1, member_weight=0.5, length_power=0.6, balance_power=1.75,
    extra_on_longer_side=0.052, extra_on_shorter_side=0.025, length_weight=0.023, length_spread=0.35,
    quote_boundary=0.13, quote_presence=0.1, quote_count=0.04, skip_cost=0.4, skip_extend=0.1,
)
# Without a translation, dictionary glosses are the bridge. (With one, glosses
# added nothing on the tuning texts: the translation already has the words.)
WITHOUT_BRIDGE = Weights(
    gloss_weight=1.8, bead_bonus=0.262, size_power=0.6, member_weight=0.9, length_power=0.2, balance_power=0.25,
    extra_on_longer_side=0.0, extra_on_shorter_side=0.045, length_weight=0.023, length_spread=0.3,
    quote_boundary=0.18, quote_presence=0.05, quote_count=0.02, skip_cost=0.2, skip_extend=0.15,
)


# English characters (spaces aside) per Chinese character in published
# translations, before each document's own ratio is measured.
CHARS_PER_HANZI = 3.7
RATIO_ADAPTS_WITHIN = (0.67, 1.5)  # a document's own ratio, as a multiple of CHARS_PER_HANZI
BAND = 12  # target sentences either side of the anchor line
MAX_BAND = 400  # cap on the corridor's half-width, which bounds memory
ANCHOR_MIN_SIMILARITY = 0.3
EVIDENCE_COSINE = 0.15  # beads sharing less than this with the bridge lose confidence
REVIEW_BELOW = 0.8  # beads under this confidence are fuzzy in PO, for review
BASELINE_SAMPLES = 16

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,:]\d+)*")
_LATIN_OR_NUMBER = re.compile(r"[A-Za-z][A-Za-z0-9]+|\d+(?:[.,:]\d+)*")
_SUFFIXES = ("ingly", "edly", "ing", "ed", "es", "ly", "s")
_ZH_QUOTES = re.compile(r"[“”「」『』]")
_ZH_OPENERS = "“「『"
_EN_QUOTE = re.compile(r"[\"'‘’“”]")


def align_sentences(source: Sequence[str], target: Sequence[str], bridge: Sequence[str] | None = None) -> list[Bead]:
    """Align Chinese ``source`` sentences with English ``target`` sentences.

    ``bridge`` is a machine translation of each source sentence; without it
    only lengths, quotations, numbers and Latin-script words guide the
    alignment. Every sentence is in exactly one bead, in order.
    """
    if bridge is not None and len(bridge) != len(source):
        raise ValueError(f"{len(source)} source sentences but {len(bridge)} translations")
    if not source or not target:
        return [Bead((i,), (), 0.0) for i in range(len(source))] + [Bead((), (j,), 0.0) for j in range(len(target))]
    weights = WITHOUT_BRIDGE if bridge is None else WITH_BRIDGE
    src, tgt = _sides(source, target, bridge, weights.gloss_weight)
    lo, hi = _corridor(src, tgt)
    grid = _Grid(lo, hi)
    dots = _BandDots(src.vectors, tgt.vectors, lo, hi)
    shapes = SHAPES + SKIPS
    # Per shape and corridor cell: where a bead ending there starts, and its score.
    starts = np.empty((len(shapes), len(grid.i)), dtype=np.int32)
    gains = np.empty((len(shapes), len(grid.i)), dtype=np.float32)
    for k, shape in enumerate(shapes):
        starts[k], gains[k] = _bead_scores(shape, grid, src, tgt, dots, weights)
    beads = _best_path(grid, shapes, starts, gains, weights)
    return [_with_evidence(bead, src, tgt, dots) for bead in beads]


def aligned_units(beads: Sequence[Bead], source: Sequence[Sentence], target: Sequence[Sentence], path: str) -> list[Unit]:
    """The beads as translation units, the sentences of each side joined
    (Chinese without spaces, English with). A source text that occurs twice
    is one unit (msgfmt rejects duplicate msgids); the first alignment wins.
    Target sentences with no source have no unit."""
    units: dict[str, Unit] = {}
    for bead in beads:
        if not bead.source:
            continue
        text = "".join(source[i].text for i in bead.source)
        translation = " ".join(target[j].text for j in bead.target)
        location = (path, source[bead.source[0]].line)
        if text in units:
            units[text] = replace(units[text], locations=units[text].locations + (location,))
            continue
        units[text] = Unit(text, translation, bead.confidence, _warnings(bead), (location,), aligned=True)
    return list(units.values())


def _warnings(bead: Bead) -> tuple[str, ...]:
    if not bead.target:
        return ("no counterpart found in the translation",)
    if bead.confidence < REVIEW_BELOW:
        return (f"uncertain alignment ({len(bead.source)}:{len(bead.target)} sentences)",)
    return ()


# ---------------------------------------------------------------- evidence


def stems(text: str) -> list[str]:
    """Lower-cased words, crudely stemmed (tells/telling → tell), and the
    4-letter pieces of longer words (slapped/slap, anatomy/anatomical)."""
    words = []
    for word in _WORD.findall(text.lower()):
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        words.append(word)
        if len(word) > 4 and word.isalpha():
            words += ["#" + word[k : k + 4] for k in range(len(word) - 3)]
    return words


class _Vectors:
    """Sparse bag-of-words vectors, one per sentence, in CSR layout."""

    def __init__(self, bags: list[Counter], vocabulary: dict[str, int], idf: np.ndarray):
        self.indptr = np.zeros(len(bags) + 1, dtype=np.int64)
        self.indptr[1:] = np.cumsum([len(bag) for bag in bags])
        self.ids = np.fromiter((vocabulary[w] for bag in bags for w in bag), dtype=np.int64, count=self.indptr[-1])
        counts = np.fromiter((c for bag in bags for c in bag.values()), dtype=np.float64, count=self.indptr[-1])
        self.values = counts * idf[self.ids]
        self.norms = np.sqrt(self.dots_with(self, np.arange(len(bags)), np.arange(len(bags))))
        self.vocabulary_size = len(vocabulary)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def dots_with(self, other: _Vectors, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        """Dot products of self[rows[k]] with other[other_rows[k]], for all k.

        Vectorised as a sort-merge: every (pair, word) key of both sides is
        sorted, and equal neighbours are the words a pair shares. Chunked to
        bound memory.
        """
        out = np.zeros(len(rows))
        size = max(len(self.ids) and int(self.ids.max()), len(other.ids) and int(other.ids.max())) + 1
        for start in range(0, len(rows), 50_000):
            chunk = slice(start, start + 50_000)
            pair_a, pos_a = _entries(self.indptr, rows[chunk])
            pair_b, pos_b = _entries(other.indptr, other_rows[chunk])
            keys = np.concatenate([pair_a * size + self.ids[pos_a], pair_b * size + other.ids[pos_b]])
            values = np.concatenate([self.values[pos_a], other.values[pos_b]])
            order = np.argsort(keys, kind="stable")
            keys, values = keys[order], values[order]
            same = np.flatnonzero(keys[1:] == keys[:-1])
            out[chunk] = np.bincount(keys[same] // size, values[same] * values[same + 1], minlength=len(rows[chunk]))
        return out

    def cosines_with(self, other: _Vectors, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        norms = self.norms[rows] * other.norms[other_rows]
        return np.divide(self.dots_with(other, rows, other_rows), norms, out=np.zeros(len(rows)), where=norms > 0)


def _entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each stored entry of the given rows: which row (0..len(rows)) and where it is."""
    lengths = indptr[rows + 1] - indptr[rows]
    pair = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pair, indptr[rows][pair] + offsets


@dataclass
class _Side:
    """One document's sentences as the aligner sees them."""

    vectors: _Vectors
    lengths: np.ndarray  # expected English characters (spaces aside)
    in_quote: np.ndarray  # [k]: a quotation is open after sentence k-1 (n+1 entries)
    quoted: np.ndarray  # the sentence has words inside a quotation
    opened: np.ndarray  # quotations the sentence opens
    baseline: np.ndarray | None = None  # mean cosine with unrelated sentences
    _norms: dict[int, np.ndarray] = field(default_factory=dict)

    def span_sum(self, values: np.ndarray, end: np.ndarray, size: int) -> np.ndarray:
        """Sum of values[end-size:end] for each end."""
        total = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
        return total[end] - total[end - size]

    def span_norms(self, size: int) -> np.ndarray:
        """[end]: the norm of the sum of the vectors of sentences end-size .. end-1."""
        if size not in self._norms:
            n = len(self.vectors)
            ends = np.arange(size, n + 1)
            squared = np.zeros(len(ends))
            for k in range(size):
                for q in range(k, size):
                    squared += (1 if k == q else 2) * self.vectors.dots_with(self.vectors, ends - size + k, ends - size + q)
            self._norms[size] = np.concatenate([np.zeros(size), np.sqrt(np.maximum(squared, 0))])
        return self._norms[size]


def _sides(source: Sequence[str], target: Sequence[str], bridge: Sequence[str] | None, gloss_weight: float) -> tuple[_Side, _Side]:
    src_bags = [_source_bag(s, b, gloss_weight) for s, b in zip(source, bridge or [None] * len(source))]
    tgt_bags = [Counter(stems(t)) for t in target]
    vocabulary: dict[str, int] = {}
    frequency = Counter()
    for bag in src_bags + tgt_bags:
        frequency.update(bag.keys())
    for word in frequency:
        vocabulary[word] = len(vocabulary)
    total = len(src_bags) + len(tgt_bags)
    idf = np.log1p(total / np.array([frequency[w] for w in vocabulary] or [1], dtype=np.float64))
    src = _Side(_Vectors(src_bags, vocabulary, idf), np.array([_expected_length(s) for s in source]),
                *_quotations(source, _zh_quote_events))
    tgt = _Side(_Vectors(tgt_bags, vocabulary, idf), np.array([float(len("".join(t.split()))) for t in target]),
                *_quotations(target, _en_quote_events))
    # Translators differ in verbosity: expect this translation's own ratio,
    # within bounds (one side may be an excerpt of the other).
    if src.lengths.sum() > 0 and tgt.lengths.sum() > 0:
        src.lengths = src.lengths * np.clip(tgt.lengths.sum() / src.lengths.sum(), *RATIO_ADAPTS_WITHIN)
    src.baseline, tgt.baseline = _baselines(src.vectors, tgt.vectors), _baselines(tgt.vectors, src.vectors)
    return src, tgt


def _source_bag(source: str, translation: str | None, gloss_weight: float) -> Counter:
    """The machine translation's words, the source's dictionary glosses (a
    fraction of a word each), and its numbers and Latin-script words."""
    words = stems(translation) if translation is not None else []
    # NFKC: full-width digits and colons (１１０８：２１) read as their ASCII forms
    words += [w.lower() for w in _LATIN_OR_NUMBER.findall(unicodedata.normalize("NFKC", source)) if w.lower() not in words]
    bag = Counter(words)
    if gloss_weight:
        for word, weight in glosses(source, stems).items():
            bag[word] += gloss_weight * weight
    return bag


def _expected_length(source: str) -> float:
    han = len(HAN.findall(source))
    return CHARS_PER_HANZI * han + len("".join(source.split())) - han


def _zh_quote_events(sentence: str) -> list[tuple[int, bool]]:
    """(position, is opening) of each quotation mark."""
    return [(m.start(), m.group() in _ZH_OPENERS) for m in _ZH_QUOTES.finditer(sentence)]


def _en_quote_events(sentence: str) -> list[tuple[int, bool]]:
    """As _zh_quote_events, telling ASCII quotes and apostrophes apart by
    their neighbours: 'Go!' he said / the girls' dreams / don't."""
    events, open_quotes = [], 0
    for match in _EN_QUOTE.finditer(sentence):
        mark, at = match.group(), match.start()
        before = sentence[at - 1] if at else " "
        after = sentence[at + 1] if at + 1 < len(sentence) else " "
        if mark in "“‘" or (mark != "’" and (before.isspace() or before in "([—–-") and (after.isalnum() or mark == '"')):
            opening = True
        elif mark in "”\"" or before in ".,!?;:…—–-" or (before.isalpha() and not after.isalnum() and open_quotes):
            opening = False
        else:
            continue  # an apostrophe
        open_quotes = open_quotes + 1 if opening else max(0, open_quotes - 1)
        events.append((at, opening))
    return events


def _quotations(sentences: Sequence[str], events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether a quotation is open before sentence k (k = 0..n; the last
    quotation mark seen decides, so one missed mark does not spread),
    whether each sentence has words inside a quotation (counting sentences
    in the middle of a long speech, which have no marks), and how many
    quotations each sentence opens."""
    states, quoted, opened = [False], [], []
    for sentence in sentences:
        found = events(sentence)
        inside, previous, speech = states[-1], 0, False
        for at, opening in found + [(len(sentence), False)]:
            speech = speech or (inside and any(c.isalnum() for c in sentence[previous:at]))
            inside, previous = opening, at + 1
        states.append(found[-1][1] if found else states[-1])
        quoted.append(speech)
        opened.append(sum(opening for _, opening in found))
    return np.array(states), np.array(quoted), np.array(opened, dtype=np.float64)


def _baselines(side: _Vectors, other: _Vectors) -> np.ndarray:
    """Each sentence's mean cosine with sentences of the other side that are
    far from where its counterpart should be (evenly spread samples)."""
    n, m = len(side), len(other)
    centre = np.arange(n) * m / n
    picks = (centre[:, None] + m / 2 + np.arange(BASELINE_SAMPLES)[None, :] * m / BASELINE_SAMPLES).astype(np.int64) % m
    cosines = side.cosines_with(other, np.repeat(np.arange(n), BASELINE_SAMPLES), picks.ravel()).reshape(n, -1)
    far = np.abs(picks - centre[:, None]) > 5
    far[~far.any(axis=1)] = True  # short documents: nothing is far
    return (cosines * far).sum(axis=1) / far.sum(axis=1)


# ---------------------------------------------------------------- corridor


def _corridor(src: _Side, tgt: _Side) -> tuple[np.ndarray, np.ndarray]:
    """For each source position i = 0..n, the target positions lo[i]..hi[i]
    the path may pass through: a band around the line through the anchors."""
    n, m = len(src.vectors), len(tgt.vectors)
    points = np.array([(0, 0), *_anchors(src, tgt), (n, m)], dtype=np.float64)
    rows = np.arange(n + 1)
    centre = np.interp(rows, points[:, 0], points[:, 1])
    # Between distant or skewed anchors the path is less certain: widen the band.
    segment = np.clip(np.searchsorted(points[:, 0], rows, side="right") - 1, 0, len(points) - 2)
    skew = np.abs(np.diff(points[:, 1]) - np.diff(points[:, 0]))[segment]
    width = np.minimum(BAND + skew // 2, MAX_BAND)
    # A row spans from where the line enters it to where it leaves: on a steep
    # stretch (target sentences with no source) the path runs along one row.
    entering = np.minimum(centre, np.concatenate([centre[:1], centre[:-1]]))
    leaving = np.maximum(centre, np.concatenate([centre[1:], centre[-1:]]))
    lo = np.clip(np.floor(entering - width), 0, m).astype(np.int64)
    hi = np.clip(np.ceil(leaving + width), 0, m).astype(np.int64)
    lo[0], hi[n] = 0, m
    lo = np.maximum.accumulate(lo)
    hi = np.minimum.accumulate(hi[::-1])[::-1]
    hi[:-1] = np.maximum(hi[:-1], lo[1:])  # every row reaches the next
    return lo, hi


def _anchors(src: _Side, tgt: _Side) -> list[tuple[int, int]]:
    """Source-target pairs that are each other's best match among the
    candidates sharing a distinctive word near the diagonal, chained in order."""
    n, m = len(src.vectors), len(tgt.vectors)
    window = max(20, int(0.1 * max(n, m)), abs(n - m))
    rows, cols = _candidate_pairs(src.vectors, tgt.vectors, window)
    similarity = src.vectors.cosines_with(tgt.vectors, rows, cols)
    keep = similarity >= ANCHOR_MIN_SIMILARITY
    rows, cols, similarity = rows[keep], cols[keep], similarity[keep]
    if not len(rows):
        return []
    mutual = _is_best(rows, similarity) & _is_best(cols, similarity)
    return _heaviest_chain(rows[mutual], cols[mutual], similarity[mutual])


def _candidate_pairs(src: _Vectors, tgt: _Vectors, window: int, words_per_sentence: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) within ``window`` of the diagonal where target j has one of
    source i's most heavily weighted words."""
    n, m = len(src), len(tgt)
    postings: dict[int, list[int]] = {}
    for j in range(m):
        for word in tgt.ids[tgt.indptr[j] : tgt.indptr[j + 1]]:
            postings.setdefault(int(word), []).append(j)
    arrays = {word: np.array(js) for word, js in postings.items()}
    rows, cols = [], []
    for i in range(n):
        start, end = src.indptr[i], src.indptr[i + 1]
        top = src.ids[start:end][np.argsort(-src.values[start:end])[:words_per_sentence]]
        centre = i * m / n
        for word in top:
            js = arrays.get(int(word))
            if js is None:
                continue
            near = js[(js >= centre - window) & (js <= centre + window)]
            rows.append(np.full(len(near), i))
            cols.append(near)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(rows), np.concatenate(cols)]), axis=1)
    return pairs[0], pairs[1]


def _is_best(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each entry has the highest value among those with its key."""
    best = np.full(keys.max() + 1, -np.inf)
    np.maximum.at(best, keys, values)
    return values >= best[keys]


def _heaviest_chain(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> list[tuple[int, int]]:
    """The heaviest chain of pairs increasing in both coordinates; the path
    passes just after each anchor."""
    order = np.lexsort((cols, rows))
    rows, cols, weights = rows[order].tolist(), cols[order].tolist(), weights[order].tolist()
    best, previous = list(weights), [-1] * len(rows)
    for k in range(len(rows)):
        for q in range(max(0, k - 50), k):  # chains rarely skip 50 anchors
            if rows[q] < rows[k] and cols[q] < cols[k] and best[q] + weights[k] > best[k]:
                best[k], previous[k] = best[q] + weights[k], q
    chain = []
    k = max(range(len(rows)), key=best.__getitem__)
    while k >= 0:
        chain.append((rows[k] + 1, cols[k] + 1))
        k = previous[k]
    return chain[::-1]


# ---------------------------------------------------------------- scores


class _Grid:
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


class _BandDots:
    """Dot products of each source sentence p with the target sentences that
    beads through p can reach, with running sums along each row."""

    def __init__(self, src: _Vectors, tgt: _Vectors, lo: np.ndarray, hi: np.ndarray):
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


def _bead_scores(shape: tuple[int, int], grid: _Grid, src: _Side, tgt: _Side, dots: _BandDots, w: Weights) -> tuple[np.ndarray, np.ndarray]:
    """For every corridor cell, the cell a bead of this shape ending there
    starts from (-1 if none) and the bead's score.

    The similarity of the bead's two texts is damped when their lengths
    disagree (Bertalign's log2(1 + ratio)) and counts a little more for
    larger beads; each sentence's own similarity to the other side is added,
    so that a sentence merged into a bead must earn its place there.
    """
    a, b = shape
    start = grid.cell(grid.i - a, grid.j - b)
    valid = np.flatnonzero(start >= 0)
    i, j = grid.i[valid], grid.j[valid]
    score = -w.quote_boundary * (src.in_quote[i] != tgt.in_quote[j])
    if a and b:
        expected, actual = src.span_sum(src.lengths, i, a), tgt.span_sum(tgt.lengths, j, b)
        ratio = np.minimum(expected, actual) / np.maximum(np.maximum(expected, actual), 1.0)
        similarity = _similarity(a, b, i, j, src, tgt, dots, w.balance_power) * np.log2(1 + ratio) ** w.length_power
        score = score + similarity * ((a + b) / 2) ** w.size_power + w.bead_bonus
        score += w.member_weight * _member_similarity(a, b, i, j, src, tgt, dots)
        score -= w.extra_on_longer_side * (max(a, b) - 1) + w.extra_on_shorter_side * (min(a, b) - 1)
        score -= w.length_weight * _length_deviation(expected, actual, w.length_spread)
        quoted = (src.span_sum(src.quoted, i, a) > 0) != (tgt.span_sum(tgt.quoted, j, b) > 0)
        score -= w.quote_presence * quoted
        score -= w.quote_count * np.abs(src.span_sum(src.opened, i, a) - tgt.span_sum(tgt.opened, j, b))
    else:
        score = score - w.skip_cost
    scores = np.full(len(grid.i), -np.inf)
    scores[valid] = score
    return start, scores


def _member_similarity(a, b, i, j, src: _Side, tgt: _Side, dots: _BandDots) -> np.ndarray:
    """Half the sum, over the bead's sentences, of each one's cosine with the
    other side's text less its baseline: every sentence earns its own place."""
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


def _similarity(a, b, i, j, src: _Side, tgt: _Side, dots: _BandDots, balance_power: float) -> np.ndarray:
    """Cosine of the bead's summed vectors, lowered when one side carries
    much more weight than the other (content the other side lacks), less
    the sentences' mean baseline."""
    x, y = src.span_norms(a)[i], tgt.span_norms(b)[j]
    norms = x * y
    cosine = np.divide(dots.block(i - a, a, j - b, b), norms, out=np.zeros(len(i)), where=norms > 0)
    balance = np.divide(2 * norms, x * x + y * y, out=np.zeros(len(i)), where=norms > 0)
    return cosine * balance**balance_power - (src.span_sum(src.baseline, i, a) / a + tgt.span_sum(tgt.baseline, j, b) / b) / 2


def _length_deviation(expected: np.ndarray, actual: np.ndarray, long_spread: float) -> np.ndarray:
    """Squared log-ratio in units of the spread, which is wider for short
    sentences (a few characters either way is a large ratio)."""
    spread = np.sqrt(long_spread**2 + 4.0 / np.maximum(expected, 1.0))
    return np.minimum((np.log((actual + 1) / (expected + 1)) / spread) ** 2, 25.0)


# ---------------------------------------------------------------- path


def _best_path(grid: _Grid, shapes: list[tuple[int, int]], starts: np.ndarray, gains: np.ndarray, w: Weights) -> list[Bead]:
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
            beads.append(Bead(tuple(range(i - a, i)), tuple(range(j - b, j)), _confidence(a, b, float(gains[shape_in[cell], cell]))))
            cell, state = int(starts[shape_in[cell], cell]), "total"
    return beads[::-1]


def _with_evidence(bead: Bead, src: _Side, tgt: _Side, dots: _BandDots) -> Bead:
    """Scale down the confidence of a bead whose texts share (almost) nothing:
    the path put it there, but a reviewer should look."""
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
