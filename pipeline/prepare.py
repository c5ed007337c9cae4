"""What the model is given: each segment normalised as OPUS-MT's training
data was, segments with nothing to translate set aside, and segments too
long for the model cut into pieces that fit.
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from collections.abc import Callable

from .data import Translation
from .han import HAN

# Where a sentence too long for the model is cut, best first: after sentence
# ends, after clause punctuation, at spaces; failing all, between tokens.
_CUT_AFTER = ("。！？!?…", "；;", "，,、：:", " \t\u3000")


@functools.cache
def _punctuation_normalizer():
    from sacremoses import MosesPunctNormalizer

    return MosesPunctNormalizer()


def prepare_source(text: str) -> str:
    """Normalise a sentence the way OPUS-MT's training data was.

    OPUS-MT models were trained on text passed through Moses'
    replace-unicode-punctuation (，→, 。→. “→" ...) with whitespace squeezed;
    the tokenizer in `transformers` does not do this, so we do.
    """
    return " ".join(_punctuation_normalizer().replace_unicode_punct(text).split())


def copied(sentence: str) -> Translation | None:
    """The translation of a sentence with nothing Chinese in it (numbers,
    punctuation, names, English): the text itself, normalised. The model
    would only garble it (or loop on it). None if there is Chinese."""
    if HAN.search(sentence):
        return None
    return Translation(" ".join(unicodedata.normalize("NFKC", sentence).split()), copied=True)


def split_to_fit(
    text: str, fits: Callable[[str], bool], token_starts: Callable[[str], list[int]] | None = None
) -> list[str]:
    """Cut ``text`` into pieces that each ``fit``, preferring clause boundaries.

    The pieces, concatenated, give back ``text`` exactly. Each cut is made at
    the best kind of boundary present (see ``_CUT_AFTER``), else between two
    of the model's tokens (``token_starts``), else between characters; the
    one nearest the middle, so pieces stay balanced and few.
    """
    if len(text) <= 1 or fits(text):
        return [text]
    # Token boundaries of the whole text (tokenizing a piece alone can differ).
    starts = token_starts(text) if token_starts else []

    def split(start: int, end: int) -> list[str]:
        if end - start <= 1 or fits(text[start:end]):
            return [text[start:end]]
        inside = starts[bisect.bisect_right(starts, start) : bisect.bisect_left(starts, end)]
        cut = start + _best_cut(text[start:end], [s - start for s in inside])
        return split(start, cut) + split(cut, end)

    return split(0, len(text))


def _best_cut(text: str, token_starts: list[int]) -> int:
    middle = len(text) / 2
    for marks in _CUT_AFTER:
        cuts = [i + 1 for i, char in enumerate(text[:-1]) if char in marks]
        if cuts:
            return min(cuts, key=lambda cut: abs(cut - middle))
    if token_starts:
        return min(token_starts, key=lambda cut: abs(cut - middle))
    return len(text) // 2
