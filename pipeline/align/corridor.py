"""Where the alignment path may run: a corridor around anchors.

Anchors are source–target pairs that are each other's best match among the
candidates sharing a distinctive word, chained in order; the path runs in a
band around the line through them, so the dynamic programme looks at a
number of cells that grows linearly with the documents.
"""

from __future__ import annotations

import numpy as np

from .features import Side, Vectors

BAND = 12  # target sentences either side of the anchor line
MAX_BAND = 400  # cap on the corridor's half-width, which bounds memory
ANCHOR_MIN_SIMILARITY = 0.3


def corridor(src: Side, tgt: Side) -> tuple[np.ndarray, np.ndarray]:
    """For each source position i = 0..n, the target positions lo[i]..hi[i]
    the path may pass through: a band around the line through the anchors."""
    n, m = len(src.words.vectors), len(tgt.words.vectors)
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


def _anchors(src: Side, tgt: Side) -> list[tuple[int, int]]:
    """Source-target pairs that are each other's best match among the
    candidates sharing a distinctive word near the diagonal, chained in order."""
    source, target = src.words.vectors, tgt.words.vectors
    n, m = len(source), len(target)
    window = max(20, int(0.1 * max(n, m)), abs(n - m))
    rows, cols = _candidate_pairs(source, target, window)
    similarity = source.cosines_with(target, rows, cols)
    keep = similarity >= ANCHOR_MIN_SIMILARITY
    rows, cols, similarity = rows[keep], cols[keep], similarity[keep]
    if not len(rows):
        return []
    mutual = _is_best(rows, similarity) & _is_best(cols, similarity)
    return _heaviest_chain(rows[mutual], cols[mutual], similarity[mutual])


def _candidate_pairs(
    src: Vectors, tgt: Vectors, window: int, words_per_sentence: int = 3
) -> tuple[np.ndarray, np.ndarray]:
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
