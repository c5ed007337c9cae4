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
from typing import Generic, TypeVar

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


class SentenceVectors:
    """One vector per sentence, with their norms and dot products."""

    norms: np.ndarray

    def __len__(self) -> int:
        raise NotImplementedError

    def dots_with(self, other, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        """Dot products of self[rows[k]] with other[other_rows[k]], for all k."""
        raise NotImplementedError

    def cosines_with(self, other, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        norms = self.norms[rows] * other.norms[other_rows]
        return np.divide(self.dots_with(other, rows, other_rows), norms, out=np.zeros(len(rows)), where=norms > 0)


class Vectors(SentenceVectors):
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
        """Vectorised as a sort-merge: every (pair, word) key of both sides is
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


class Embeddings(SentenceVectors):
    """Dense sentence vectors (a sentence encoder's), one row per sentence,
    each scaled by its sentence's length in words: the sum over a bead's
    sentences then weighs them as mean pooling over their joined text would
    (a long sentence says more of the bead than a short one)."""

    def __init__(self, unit_vectors: np.ndarray, sentences: Sequence[str]):
        lengths = np.array([max(1, len(s.split())) for s in sentences], dtype=np.float32)
        self.matrix = np.asarray(unit_vectors, dtype=np.float32) * lengths[:, None]
        self.norms = np.linalg.norm(self.matrix, axis=1).astype(np.float64)

    def __len__(self) -> int:
        return len(self.matrix)

    def dots_with(self, other: Embeddings, rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows))
        for start in range(0, len(rows), 50_000):  # chunked to bound memory
            chunk = slice(start, start + 50_000)
            out[chunk] = np.einsum("ij,ij->i", self.matrix[rows[chunk]], other.matrix[other_rows[chunk]])
        return out


def _entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each stored entry of the given rows: which row (0..len(rows)) and where it is."""
    lengths = indptr[rows + 1] - indptr[rows]
    pair = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pair, indptr[rows][pair] + offsets


def span_sum(values: np.ndarray, end: np.ndarray, size: int) -> np.ndarray:
    """Sum of values[end-size:end] for each end."""
    total = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    return total[end] - total[end - size]


V = TypeVar("V", bound=SentenceVectors)


@dataclass
class Evidence(Generic[V]):
    """One kind of vector for each sentence of a document (bags of words, or
    a sentence encoder's embeddings) and what the aligner derives from them."""

    vectors: V
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean cosine with unrelated sentences
    _norms: dict[int, np.ndarray] = field(default_factory=dict)

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


@dataclass
class Side:
    """One document's sentences as the aligner sees them."""

    words: Evidence[Vectors]  # bags of words (of the bridge, for the source)
    lengths: np.ndarray  # expected English characters (spaces aside)
    in_quote: np.ndarray  # [k]: a quotation is open after sentence k-1 (n+1 entries)
    quoted: np.ndarray  # the sentence has words inside a quotation
    opened: np.ndarray  # quotations the sentence opens


def sides(
    source: Sequence[str], target: Sequence[str], bridge: Sequence[str] | None, gloss_weight: float
) -> tuple[Side, Side]:
    """Both documents as the aligner sees them, without sentence vectors (see meanings)."""
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
        Evidence(Vectors(src_bags, vocabulary, idf)),
        np.array([expected_english_length(s, PUBLISHED_CHARS_PER_HANZI) for s in source]),
        *_quotations(source, _zh_quote_events),
    )
    tgt = Side(
        Evidence(Vectors(tgt_bags, vocabulary, idf)),
        np.array([float(len("".join(t.split()))) for t in target]),
        *_quotations(target, _en_quote_events),
    )
    # Translators differ in verbosity: expect this translation's own ratio,
    # within bounds (one side may be an excerpt of the other).
    if src.lengths.sum() > 0 and tgt.lengths.sum() > 0:
        src.lengths = src.lengths * np.clip(tgt.lengths.sum() / src.lengths.sum(), *RATIO_ADAPTS_WITHIN)
    src.words.baseline, tgt.words.baseline = _baselines(src.words.vectors, tgt.words.vectors)
    return src, tgt


def meanings(
    bridge: Sequence[str], target: Sequence[str], vectors: np.ndarray
) -> tuple[Evidence[Embeddings], Evidence[Embeddings]]:
    """A sentence encoder's ``vectors`` of the bridge, then the target, as evidence for each side."""
    src, tgt = Embeddings(vectors[: len(bridge)], bridge), Embeddings(vectors[len(bridge) :], target)
    return Evidence(src, _baseline(src, tgt)), Evidence(tgt, _baseline(tgt, src))


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


def _baselines(source: SentenceVectors, target: SentenceVectors) -> tuple[np.ndarray, np.ndarray]:
    """Each sentence's mean cosine with sentences of the other side that are
    far from where its counterpart should be (evenly spread samples)."""
    return _baseline(source, target), _baseline(target, source)


def _baseline(side: SentenceVectors, other: SentenceVectors) -> np.ndarray:
    n, m = len(side), len(other)
    centre = np.arange(n) * m / n
    picks = (centre[:, None] + m / 2 + np.arange(BASELINE_SAMPLES)[None, :] * m / BASELINE_SAMPLES).astype(np.int64) % m
    cosines = side.cosines_with(other, np.repeat(np.arange(n), BASELINE_SAMPLES), picks.ravel()).reshape(n, -1)
    far = np.abs(picks - centre[:, None]) > 5
    far[~far.any(axis=1)] = True  # short documents: nothing is far
    return (cosines * far).sum(axis=1) / far.sum(axis=1)
