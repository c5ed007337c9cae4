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
from dataclasses import dataclass

from .data import Part, Sentence
from .han import QUOTE_CLOSERS, QUOTE_OPENERS, is_han
from .protect import code_spans, icu_messages

# What a placeholder or tag looks like to the segmenter: an ordinary
# character (of the Private Use Area) that neither ends nor starts a sentence.
_HIDDEN = "\ue000"

LANGUAGES = ("zh", "en")

# A run of sentence-final marks: 。！？ in full and half width, the ellipses,
# and ASCII periods (a run of them is an ellipsis). A dash right before a
# closing quote ends a broken-off utterance: “你为什么——”说到这里 / "But I—" 'You what?'
_FINAL_RUN = re.compile(r"[。！？｡!?.…⋯．]+|(?:[—–]|--)+(?=[”’」』\"'])")
_STRONG_FINALS = frozenset("。！？｡…⋯．")
_ELLIPSIS = frozenset("…⋯.．")
_QUOTE_MARK = re.compile(f"[{QUOTE_OPENERS}{QUOTE_CLOSERS}]")
_CLOSERS = frozenset("”’」』）》】〕〗〉)]}\"'")
_AMBIGUOUS_QUOTES = frozenset("\"'")  # ASCII quotes both open and close
_OPENERS = frozenset("“‘「『（《【〔〖〈([{\"'")
# After these a final mark does not end the sentence: 「“好！”，他说」.
_CONTINUATION = frozenset("，、,;；:：")

# Abbreviations that end in a period without ending the sentence: titles
# and other words that always lead into more ("Mr. Li", "vs. them"); words
# that may also close a sentence ("Acme Inc. It grew." ends one: see
# _SENTENCE_STARTERS); and words that do so only before a number ("No. 5",
# "p. 12", "Mar. 3").
_LEADING_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st rev gen col capt lt sgt gov sen rep hon mt ft vs cf""".split()
)
_ABBREVIATIONS = _LEADING_ABBREVIATIONS | frozenset(
    """jr sr inc ltd co corp dept univ assn bros al ave blvd rd""".split()
)
_AFTER_TITLE_OR_INITIAL = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|Prof))\.\s*$")
_NEVER_FINAL_DOTTED = frozenset(["e.g", "i.e"])
# Words that begin sentences far more often than they follow an abbreviation
# inside one (the idea of Punkt's frequent sentence starters): "in the U.S. It
# is" ends a sentence, "the U.S. Army" does not.
_SENTENCE_STARTERS = frozenset(
    """I It He She They We You This That These Those There Then But And So
    However How What Why When Where Who The A An""".split()
)
_ABBREVIATIONS_BEFORE_NUMBERS = frozenset(
    """no nos vol vols fig figs p pp ch sec approx
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
# Letter groups joined by periods: U.S, e.g, a.m, Ph.D (not example.com, v2.0).
_DOTTED_ABBREVIATION = re.compile(r"[A-Za-z]{1,2}(?:\.[A-Za-z]{1,2})+")
# A list item number at the start of a line: "1." "a." "IV."
_LIST_MARKER = re.compile(r"(?:\d{1,3}|[A-Za-z]|[IVXLCivxlc]{1,5})")
# The word before a period: letters, digits and inner periods ("U.S", "e.g"),
# not the end of a contraction or possessive ("didn't", "wife's").
_WORD_BEFORE = re.compile(r"(?<![A-Za-z0-9'’])[A-Za-z0-9.]*[A-Za-z0-9]$")
# A dialogue tag that continues a quotation ending in ? or !:
# '"Can you print it?" Wang asked.' is one sentence.
_SPEECH_TAG = re.compile(
    r"(?:(?:Mr|Mrs|Ms|Dr|Prof)\.\s+)?(?:[A-Z][\w'’-]*\s+){1,3}(?:said|asked|replied|cried|shouted|answered|exclaimed"
    r"|whispered|protested|added|called|muttered|demanded|wondered|thought)\s*[,.;!?]"
)


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


@dataclass(frozen=True)
class Layout:
    """Where the sentences of a document part are: spans of its own text,
    never inside a placeholder or a tag, and the messages of each ICU
    plural/select block, laid out on their own."""

    sentences: tuple[tuple[int, int], ...]
    blocks: tuple[tuple[int, int, tuple[tuple[int, int, Layout], ...]], ...]  # (start, end, messages)


def layout(text: str, whole: bool = False, plural_message: bool = False) -> Layout:
    """The sentences of ``text``, a part of a structured document (``whole``:
    one sentence, as a PO entry is one unit). Codes are hidden from the
    segmenter, so a sentence never ends inside ``<a href="x.html">``."""
    codes = code_spans(text, plural_message)
    sentences: tuple[tuple[int, int], ...]
    if whole:
        start, end = _trim(text, 0, len(text))
        sentences = ((start, end),) if start < end else ()
    else:
        hidden = list(text)
        for start, end in codes:
            hidden[start:end] = _HIDDEN * (end - start)
        sentences = tuple((s.start, s.end) for s in segment("".join(hidden)))
    blocks = []
    for start, end in codes:
        messages = icu_messages(text, start, end)
        if messages:
            laid = tuple((s, e, _offset(layout(text[s:e], plural_message=plural), s)) for s, e, plural in messages)
            blocks.append((start, end, laid))
    return Layout(sentences, tuple(blocks))


def _offset(inner: Layout, by: int) -> Layout:
    """``inner``, laid out on a message that starts at ``by`` in its part."""
    return Layout(
        tuple((s + by, e + by) for s, e in inner.sentences),
        tuple(
            (s + by, e + by, tuple((ms + by, me + by, _offset(ml, by)) for ms, me, ml in m)) for s, e, m in inner.blocks
        ),
    )


def all_spans(laid: Layout) -> list[tuple[int, int]]:
    """Every sentence span, those of ICU messages included, in order."""
    spans = list(laid.sentences)
    for _, _, messages in laid.blocks:
        for _, _, inner in messages:
            spans += all_spans(inner)
    return sorted(spans)


def segment_part(part: Part, paragraph: int) -> list[Sentence]:
    """The sentences of a document part, each with the line it starts on."""
    laid = layout(part.text, whole=part.whole)
    return [
        Sentence(part.text[s:e], s, e, part.line + part.text.count("\n", 0, s), paragraph, part.key)
        for s, e in all_spans(laid)
    ]


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


@dataclass(frozen=True)
class _Mark:
    """A run of final marks (``text[start:end]``) that may end the current sentence."""

    text: str
    sentence_start: int
    start: int
    end: int
    following: int  # the next non-space character after the run and its closers
    quoted: bool  # inside a quotation that the run's closers do not close

    @property
    def run(self) -> str:
        return self.text[self.start : self.end]

    @property
    def before(self) -> str:
        """The sentence so far, up to the run; only its last word matters."""
        return self.text[max(self.sentence_start, self.start - 64) : self.start].rstrip()

    @property
    def next_char(self) -> str:
        return self.text[self.end] if self.end < len(self.text) else ""

    def glued_to_next_word(self) -> bool:
        """3.14, v2.0, example.com, U.S: a Latin letter or digit right after the run."""
        return self.next_char.isascii() and self.next_char.isalnum()

    @property
    def closers(self) -> str:
        """The closing quotes and brackets (and spaces) right after the run."""
        return self.text[self.end : self.following].rstrip()

    def is_bare_ellipsis(self) -> bool:
        """…… or ... with no 。！？ and no closing quote: a pause, often mid-utterance."""
        return not self.closers and all(c in _ELLIPSIS for c in self.run) and self.run not in ".．"

    def after_list_number(self) -> bool:
        """ "1. " or "IV. " opening a numbered item."""
        return not self.before or _LIST_MARKER.fullmatch(self.before) is not None


BoundaryRule = Callable[[_Mark], bool]


def _sentence_spans(text: str, start: int, end: int, ends_sentence: BoundaryRule):
    """Yield the sentence spans of the paragraph ``text[start:end]``."""
    sentence_start = start
    quotes = _QuoteDepth(text, start)
    for run in _FINAL_RUN.finditer(text, start, end):
        if run.start() < sentence_start:
            continue  # absorbed into the sentence before
        close = _after_closers(text, run.end(), end)
        if run.group()[0] in "—–-" and (close == run.end() or text[run.start() - 1 : run.start()] in _OPENERS):
            continue  # a dash before a quote that opens rather than closes, or quoted itself ("--")
        following = _skip_spaces(text, close, end)
        if following == end:
            break  # the paragraph ends here anyway
        if text[following] in _CONTINUATION:
            continue
        quoted = quotes.depth_at(close) > 0
        if ends_sentence(_Mark(text, sentence_start, run.start(), run.end(), following, quoted)):
            close, following = _absorb_trailing_marks(text, following, end, close)
            yield sentence_start, close
            sentence_start = following
    if sentence_start < end:
        yield sentence_start, end


def _absorb_trailing_marks(text: str, following: int, end: int, close: int) -> tuple[int, int]:
    """A sentence does not start with final marks: "。” ……他们" keeps "……" with
    the sentence before."""
    while extra := _FINAL_RUN.match(text, following, end):
        after = _after_closers(text, extra.end(), end)
        if extra.group()[0] in "—–-" and after == extra.end():
            break  # a dash that closes no quotation starts the next sentence
        close, following = after, _skip_spaces(text, after, end)
    return close, following


class _QuoteDepth:
    """How many “ 「 『 quotations are open at a position, scanning forward once."""

    def __init__(self, text: str, start: int):
        self.text, self.scanned, self.depth = text, start, 0

    def depth_at(self, pos: int) -> int:
        for quote in _QUOTE_MARK.finditer(self.text, self.scanned, max(pos, self.scanned)):
            if quote.group() in QUOTE_OPENERS:
                self.depth += 1
            elif self.depth:
                self.depth -= 1
        self.scanned = max(self.scanned, pos)
        return self.depth


def _after_closers(text: str, pos: int, end: int) -> int:
    """Move past closing quotes and brackets (and spaces before them)."""
    while True:
        nxt = _skip_spaces(text, pos, end)
        if nxt < end and text[nxt] in _CLOSERS and _is_closing(text, nxt, end):
            pos = nxt + 1
        else:
            return pos


def _is_closing(text: str, pos: int, end: int) -> bool:
    """An ASCII quote closes when no word starts right after it; ’ unless a
    Latin letter or digit follows (an apostrophe: ’90s, ’tis)."""
    following = text[pos + 1] if pos + 1 < end else ""
    if text[pos] == "’":
        return not (following.isascii() and following.isalnum())
    if text[pos] not in _AMBIGUOUS_QUOTES:
        return True
    return not following or not _is_wordlike(following)


def _skip_spaces(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


def _is_cjk_punctuation(char: str) -> bool:
    """CJK symbols and full-width punctuation (not full-width letters or digits)."""
    return ("\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef") and not char.isalnum()


def _is_wordlike(char: str) -> bool:
    return char.isalnum() or is_han(char)


def _zh_ends_sentence(mark: _Mark) -> bool:
    """Chinese: full-width marks end sentences; ASCII ones only in Chinese context."""
    if _is_decimal_point(mark):
        return False
    if mark.quoted and mark.is_bare_ellipsis():
        return False  # “我叫…… 叫小玄子。” hesitation inside an utterance
    if any(c in _STRONG_FINALS for c in mark.run):
        return True
    if mark.glued_to_next_word() or mark.after_list_number():
        return False
    previous = mark.before[-1]
    if is_han(previous) or _is_cjk_punctuation(previous) or previous in _CLOSERS:
        return True  # 他说. 然后 / 选择' . 从中
    # After Latin script: an English sentence inside Chinese text ("iPhone. 然后"
    # ends one), or an abbreviation ("U.S. 政府", "Mr. Li" do not).
    return _en_ends_sentence(mark)


def _is_decimal_point(mark: _Mark) -> bool:
    """A full-width period between digits (３．１４) is a decimal point."""
    return mark.run == "．" and mark.before[-1:].isdigit() and mark.next_char.isdigit()


def _en_ends_sentence(mark: _Mark) -> bool:
    """English: a final mark ends a sentence when a capital, digit or quote follows."""
    if mark.glued_to_next_word() or mark.after_list_number():
        return False
    text, following = mark.text, mark.following
    next_char = text[following]
    if next_char in _OPENERS:
        next_char = text[following + 1] if following + 1 < len(text) else ""
    if not (next_char.isupper() or next_char.isdigit() or is_han(next_char)):
        return False  # '"Stop!" he cried.', 'e.g. this'
    if mark.closers and mark.run in ("?", "!") and _SPEECH_TAG.match(text, following):
        return False  # '"Why?" Wang asked.'
    # An abbreviation ends the sentence too when a quote or bracket closes after it.
    return bool(mark.closers) or not _is_abbreviation(mark)


def _is_abbreviation(mark: _Mark) -> bool:
    """Does the period of ``mark`` end an abbreviation rather than the sentence?"""
    if mark.run != ".":
        return False
    found = _WORD_BEFORE.search(mark.before)
    if found is None:
        return False
    word = found.group()
    if len(word) == 1 and word.isalpha():
        # An initial as in J. R. R. Tolkien; "I" only after a title or initial
        # ("Mr. I. Smith"), else it is the pronoun ending "so was I."
        return word != "I" or _AFTER_TITLE_OR_INITIAL.search(mark.before[:-1]) is not None
    if word.lower() in _ABBREVIATIONS_BEFORE_NUMBERS:
        return mark.text[mark.following].isdigit()  # "No. 5", but "he said no. Then"
    if word.lower() in _LEADING_ABBREVIATIONS or word.lower() in _NEVER_FINAL_DOTTED:
        return True
    if word.lower() in _ABBREVIATIONS or _DOTTED_ABBREVIATION.fullmatch(word):
        return _next_word(mark) not in _SENTENCE_STARTERS  # U.S., p.m., Ph.D., Inc.
    return False


def _next_word(mark: _Mark) -> str:
    found = re.match(r"[A-Za-z]+", mark.text[mark.following : mark.following + 16])
    return found.group() if found else ""
