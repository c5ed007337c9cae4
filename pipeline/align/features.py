"""What the aligner sees of each sentence: a bag of English words, an
expected length, and where quotations open and close.

A source sentence's bag holds its machine translation's words (or, without
one, its dictionary glosses), and its numbers and Latin-script words, which
need no translation. Words are crudely stemmed and cut into 4-letter pieces,
so that "slapped" meets "slap" and "anatomy" meets "anatomical"; every word
is weighted by its IDF over both documents.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..han import PUBLISHED_CHARS_PER_HANZI, QUOTE_CLOSERS, QUOTE_OPENERS, expected_english_length
from .glosses import glosses

RATIO_ADAPTS_WITHIN = (0.67, 1.5)  # a document's own ratio, as a multiple of PUBLISHED_CHARS_PER_HANZI
BASELINE_SAMPLES = 16

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,:]\d+)*")
_LATIN_OR_NUMBER = re.compile(r"[A-Za-z][A-Za-z0-9]+|\d+(?:[.,:]\d+)*")
_SUFFIXES = ("ingly", "edly", "ing", "ed", "es", "ly", "s")
_ZH_QUOTES = re.compile(f"[{QUOTE_OPENERS}{QUOTE_CLOSERS}]")
_EN_QUOTE = re.compile(r"[\"'‘’“”]")


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


class Vectors:
    """Sparse bag-of-words vectors, one per sentence, in CSR layout."""

    def __init__(self, bags: Sequence[Mapping[str, float]], vocabulary: dict[str, int], idf: np.ndarray):
        self.indptr = np.zeros(len(bags) + 1, dtype=np.int64)
        self.indptr[1:] = np.cumsum([len(bag) for bag in bags])
        self.ids = np.fromiter((vocabulary[w] for bag in bags for w in bag), dtype=np.int64, count=self.indptr[-1])
        counts = np.fromiter((c for bag in bags for c in bag.values()), dtype=np.float64, count=self.indptr[-1])
        self.values = counts * idf[self.ids]
        self.norms = np.sqrt(self.dots_with(self, np.arange(len(bags)), np.arange(len(bags))))
        self.vocabulary_size = len(vocabulary)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def dots_with(self, other: Vectors, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
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

    def cosines_with(self, other: Vectors, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        norms = self.norms[rows] * other.norms[other_rows]
        return np.divide(self.dots_with(other, rows, other_rows), norms, out=np.zeros(len(rows)), where=norms > 0)


def _entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each stored entry of the given rows: which row (0..len(rows)) and where it is."""
    lengths = indptr[rows + 1] - indptr[rows]
    pair = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pair, indptr[rows][pair] + offsets


@dataclass
class Side:
    """One document's sentences as the aligner sees them."""

    vectors: Vectors
    lengths: np.ndarray  # expected English characters (spaces aside)
    in_quote: np.ndarray  # [k]: a quotation is open after sentence k-1 (n+1 entries)
    quoted: np.ndarray  # the sentence has words inside a quotation
    opened: np.ndarray  # quotations the sentence opens
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean cosine with unrelated sentences
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
                    squared += (1 if k == q else 2) * self.vectors.dots_with(
                        self.vectors, ends - size + k, ends - size + q
                    )
            self._norms[size] = np.concatenate([np.zeros(size), np.sqrt(np.maximum(squared, 0))])
        return self._norms[size]


def sides(
    source: Sequence[str], target: Sequence[str], bridge: Sequence[str] | None, gloss_weight: float
) -> tuple[Side, Side]:
    translations: Sequence[str | None] = bridge if bridge is not None else [None] * len(source)
    src_bags = [_source_bag(s, b, gloss_weight) for s, b in zip(source, translations, strict=True)]
    tgt_bags: list[Mapping[str, float]] = [Counter(stems(t)) for t in target]
    vocabulary: dict[str, int] = {}
    frequency: Counter[str] = Counter()
    for bag in src_bags + tgt_bags:
        frequency.update(bag.keys())
    for word in frequency:
        vocabulary[word] = len(vocabulary)
    total = len(src_bags) + len(tgt_bags)
    idf = np.log1p(total / np.array([frequency[w] for w in vocabulary] or [1], dtype=np.float64))
    src = Side(
        Vectors(src_bags, vocabulary, idf),
        np.array([expected_english_length(s, PUBLISHED_CHARS_PER_HANZI) for s in source]),
        *_quotations(source, _zh_quote_events),
    )
    tgt = Side(
        Vectors(tgt_bags, vocabulary, idf),
        np.array([float(len("".join(t.split()))) for t in target]),
        *_quotations(target, _en_quote_events),
    )
    # Translators differ in verbosity: expect this translation's own ratio,
    # within bounds (one side may be an excerpt of the other).
    if src.lengths.sum() > 0 and tgt.lengths.sum() > 0:
        src.lengths = src.lengths * np.clip(tgt.lengths.sum() / src.lengths.sum(), *RATIO_ADAPTS_WITHIN)
    src.baseline, tgt.baseline = _baselines(src.vectors, tgt.vectors), _baselines(tgt.vectors, src.vectors)
    return src, tgt


def _source_bag(source: str, translation: str | None, gloss_weight: float) -> dict[str, float]:
    """The machine translation's words, the source's dictionary glosses (a
    fraction of a word each), and its numbers and Latin-script words."""
    words = stems(translation) if translation is not None else []
    # NFKC: full-width digits and colons (１１０８：２１) read as their ASCII forms
    words += [
        w.lower() for w in _LATIN_OR_NUMBER.findall(unicodedata.normalize("NFKC", source)) if w.lower() not in words
    ]
    bag: dict[str, float] = dict(Counter(words))
    if gloss_weight:
        for word, weight in glosses(source, stems).items():
            bag[word] = bag.get(word, 0.0) + gloss_weight * weight
    return bag


def _zh_quote_events(sentence: str) -> list[tuple[int, bool]]:
    """(position, is opening) of each quotation mark."""
    return [(m.start(), m.group() in QUOTE_OPENERS) for m in _ZH_QUOTES.finditer(sentence)]


def _en_quote_events(sentence: str) -> list[tuple[int, bool]]:
    """As _zh_quote_events, telling ASCII quotes and apostrophes apart by
    their neighbours: 'Go!' he said / the girls' dreams / don't."""
    events, open_quotes = [], 0
    for match in _EN_QUOTE.finditer(sentence):
        mark, at = match.group(), match.start()
        before = sentence[at - 1] if at else " "
        after = sentence[at + 1] if at + 1 < len(sentence) else " "
        if mark in "“‘" or (
            mark != "’" and (before.isspace() or before in "([—–-") and (after.isalnum() or mark == '"')
        ):
            opening = True
        elif mark in '”"' or before in ".,!?;:…—–-" or (before.isalpha() and not after.isalnum() and open_quotes):
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
        for at, opening in [*found, (len(sentence), False)]:
            speech = speech or (inside and any(c.isalnum() for c in sentence[previous:at]))
            inside, previous = opening, at + 1
        states.append(found[-1][1] if found else states[-1])
        quoted.append(speech)
        opened.append(sum(opening for _, opening in found))
    return np.array(states), np.array(quoted), np.array(opened, dtype=np.float64)


def _baselines(side: Vectors, other: Vectors) -> np.ndarray:
    """Each sentence's mean cosine with sentences of the other side that are
    far from where its counterpart should be (evenly spread samples)."""
    n, m = len(side), len(other)
    centre = np.arange(n) * m / n
    picks = (centre[:, None] + m / 2 + np.arange(BASELINE_SAMPLES)[None, :] * m / BASELINE_SAMPLES).astype(np.int64) % m
    cosines = side.cosines_with(other, np.repeat(np.arange(n), BASELINE_SAMPLES), picks.ravel()).reshape(n, -1)
    far = np.abs(picks - centre[:, None]) > 5
    far[~far.any(axis=1)] = True  # short documents: nothing is far
    return (cosines * far).sum(axis=1) / far.sum(axis=1)
