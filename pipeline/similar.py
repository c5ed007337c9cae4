"""The text most like a given one among many: fuzzy matching of Chinese
sentences, as CAT tools score it (character-level similarity, in percent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence, Set
from difflib import SequenceMatcher

import numpy as np


class SimilarFinder:
    """The text most like a given one among many, in near-linear time.

    Candidates are the texts sharing the most of the query's rarest
    character pairs (a text 80% alike shares most of its pairs, so it shares
    some of the rarest), by a posting list per pair; only the few best are
    compared with difflib. The posting lists are built with numpy, as one
    sorted array of (pair, text) codes: a Python dict of lists takes half a
    minute for a million sentences, this a few seconds.
    """

    RARE_PAIRS = 8  # the query's rarest character pairs that are looked up
    CANDIDATES = 5  # the texts sharing most of them that are compared

    def __init__(self, texts: Sequence[str]):
        self.texts = texts
        codes, owners = _pairs(texts)
        order = np.lexsort((owners, codes))
        codes, owners = codes[order], owners[order]
        first = np.ones(len(codes), dtype=bool)  # a pair twice in one text is posted once
        first[1:] = (codes[1:] != codes[:-1]) | (owners[1:] != owners[:-1])
        self.codes, self.owners = codes[first], owners[first]

    def most_similar(self, query: str, excluded: Set[int] = frozenset()) -> tuple[float, int]:
        """``(difflib ratio, index)`` of the best candidate, ``(0.0, -1)`` if none."""
        grams = np.unique(_pairs([query])[0])
        starts = np.searchsorted(self.codes, grams, side="left")
        ends = np.searchsorted(self.codes, grams, side="right")
        rarest = np.argsort(ends - starts, kind="stable")[: self.RARE_PAIRS]
        shared = Counter(n for k in rarest for n in self.owners[starts[k] : ends[k]].tolist() if n not in excluded)
        best = (0.0, -1)
        for number, _ in shared.most_common(self.CANDIDATES):
            matcher = SequenceMatcher(None, self.texts[number], query)
            if matcher.real_quick_ratio() > best[0] and matcher.quick_ratio() > best[0]:
                best = max(best, (matcher.ratio(), number))
        return best


def _pairs(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each character pair of each text, as a code, and the index of its text."""
    joined = "\0".join(texts) + "\0"  # NUL ends each text: pairs across texts are dropped
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    owner = np.cumsum(points == 0) - (points == 0)  # the text each character belongs to
    codes = (points[:-1] << 21) | points[1:]
    keep = (points[:-1] != 0) & (points[1:] != 0)
    return codes[keep], owner[:-1][keep]
