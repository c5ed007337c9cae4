"""Stage 1: split a document into paragraphs (lines) and sentences.

Both languages share one scan: find runs of sentence-final punctuation, let
closing quotes and brackets stay with the sentence they close, and ask a
language rule whether the run really ends a sentence. Spans are kept, so
``text[s.start:s.end] == s.text`` for every sentence and nothing but
whitespace lies between consecutive sentences of a paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .data import Sentence

LANGUAGES = ("zh", "en")

# A run of sentence-final marks: 。！？ in full and half width, the ellipses,
# and ASCII periods (a run of them is an ellipsis).
_FINAL_RUN = re.compile(r"[。！？｡!?.…⋯．]+")
_STRONG_FINALS = frozenset("。！？｡…⋯．")
_CLOSERS = frozenset("”’」』）》】〕〗〉)]}\"'")
_AMBIGUOUS_QUOTES = frozenset("\"'")  # ASCII quotes both open and close
_OPENERS = frozenset("“‘「『（《【〔〖〈([{\"'")
# After these a final mark does not end the sentence: 「“好！”，他说」.
_CONTINUATION = frozenset("，、,;；:：")

# Abbreviations that end in a period without ending the sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr rev gen col capt lt sgt gov sen rep hon
    inc ltd co corp dept univ assn bros no nos vol vols fig figs p pp ch sec
    approx est etc vs cf al jan feb mar apr jun jul aug sep sept oct nov dec
    mt ft ave blvd rd""".split()
)
# A list item number at the start of a line: "1." "a." "IV."
_LIST_MARKER = re.compile(r"(?:\d{1,3}|[A-Za-z]|[IVXLCivxlc]{1,5})")
# The word before a period: letters, digits and inner periods ("U.S", "e.g").
_WORD_BEFORE = re.compile(r"[A-Za-z0-9.]*[A-Za-z0-9]$")


def segment(text: str, lang: str = "zh") -> list[Sentence]:
    """Split ``text`` into sentences; each non-blank line is a paragraph."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {LANGUAGES}")
    ends_sentence = _zh_ends_sentence if lang == "zh" else _en_ends_sentence
    sentences = []
    for paragraph, (line, start, end) in enumerate(_paragraphs(text)):
        for s, e in _sentence_spans(text, start, end, ends_sentence):
            sentences.append(Sentence(text[s:e], s, e, line, paragraph))
    return sentences


def segment_lines(text: str) -> list[Sentence]:
    """Presegmented text: each non-blank line is one sentence (and paragraph)."""
    return [
        Sentence(text[start:end], start, end, line, paragraph)
        for paragraph, (line, start, end) in enumerate(_paragraphs(text))
    ]


def _paragraphs(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(line number, start, end)`` of each non-blank line, trimmed."""
    start = 0
    for line, raw in enumerate(text.split("\n"), start=1):
        s, e = _trim(text, start, start + len(raw))
        if s < e:
            yield line, s, e
        start += len(raw) + 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# (text, start of the current sentence, start and end of the final-mark run,
# position of the next non-space character) -> does the run end the sentence?
BoundaryRule = Callable[[str, int, int, int, int], bool]


def _sentence_spans(text: str, start: int, end: int, ends_sentence: BoundaryRule):
    """Yield the sentence spans of the paragraph ``text[start:end]``."""
    sentence_start = start
    for run in _FINAL_RUN.finditer(text, start, end):
        close = _after_closers(text, run.end(), end)
        following = _skip_spaces(text, close, end)
        if following == end:
            break  # the paragraph ends here anyway
        if text[following] in _CONTINUATION:
            continue
        if ends_sentence(text, sentence_start, run.start(), run.end(), following):
            yield sentence_start, close
            sentence_start = following
    if sentence_start < end:
        yield sentence_start, end


def _after_closers(text: str, pos: int, end: int) -> int:
    """Move past closing quotes and brackets (and spaces before them)."""
    while True:
        nxt = _skip_spaces(text, pos, end)
        if nxt < end and text[nxt] in _CLOSERS and _is_closing(text, nxt, end):
            pos = nxt + 1
        else:
            return pos


def _is_closing(text: str, pos: int, end: int) -> bool:
    """An ASCII quote closes when no word starts right after it."""
    if text[pos] not in _AMBIGUOUS_QUOTES:
        return True
    return pos + 1 == end or not _is_wordlike(text[pos + 1])


def _skip_spaces(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def _is_han(char: str) -> bool:
    return (
        "\u3400" <= char <= "\u9fff"
        or "\uf900" <= char <= "\ufaff"
        or "\U00020000" <= char <= "\U0003ffff"
    )


def _is_cjk_punctuation(char: str) -> bool:
    return "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"


def _is_wordlike(char: str) -> bool:
    return char.isalnum() or _is_han(char)


def _zh_ends_sentence(text: str, sentence_start: int, run_start: int, run_end: int, following: int) -> bool:
    """Chinese: full-width marks end sentences; ASCII ones only between Chinese."""
    run = text[run_start:run_end]
    if any(c in _STRONG_FINALS for c in run) and not _is_decimal_point(text, run_start, run_end):
        return True
    if run_end < len(text) and text[run_end].isascii() and text[run_end].isalnum():
        return False  # 3.14, v1.2, example.com, e.g
    before = _text_before(text, sentence_start, run_start)
    if not before or _LIST_MARKER.fullmatch(before):
        return False  # "1. " opening a numbered item
    previous = before[-1]
    if _is_han(previous) or _is_cjk_punctuation(previous) or previous in _CLOSERS:
        return True
    # After Latin script: an English sentence inside Chinese text ("iPhone. 然后"
    # ends one), or an abbreviation ("U.S. 政府", "Mr. Li" do not).
    return _en_ends_sentence(text, sentence_start, run_start, run_end, following)


def _is_decimal_point(text: str, run_start: int, run_end: int) -> bool:
    """A full-width period between digits (３．１４) is a decimal point."""
    return (
        text[run_start:run_end] == "．"
        and run_start > 0
        and text[run_start - 1].isdigit()
        and run_end < len(text)
        and text[run_end].isdigit()
    )


def _en_ends_sentence(text: str, sentence_start: int, run_start: int, run_end: int, following: int) -> bool:
    """English: a final mark ends a sentence when a capital (or quote) follows."""
    run = text[run_start:run_end]
    if run_end < len(text) and text[run_end].isalnum():
        return False  # 3.14, U.S, example.com
    next_char = text[following]
    if next_char in _OPENERS:
        next_char = text[following + 1] if following + 1 < len(text) else ""
    if not (next_char.isupper() or next_char.isdigit() or _is_han(next_char)):
        return False  # '"Stop!" he cried.', 'e.g. this'
    before = _text_before(text, sentence_start, run_start)
    if not before or _LIST_MARKER.fullmatch(before):
        return False
    return not _is_abbreviation(before, run)


def _text_before(text: str, sentence_start: int, run_start: int) -> str:
    """The current sentence up to the final mark; only its last word matters."""
    return text[max(sentence_start, run_start - 64) : run_start].rstrip()


def _is_abbreviation(before: str, run: str) -> bool:
    """Is the word ending ``before``, followed by the period ``run``, an abbreviation?"""
    if run != ".":
        return False
    word = _WORD_BEFORE.search(before)
    if word is None:
        return False
    word = word.group()
    if "." in word:
        return True  # U.S, e.g, a.m
    if len(word) == 1 and word.isalpha():
        return True  # an initial: J. R. R. Tolkien
    return word.lower() in _ABBREVIATIONS
