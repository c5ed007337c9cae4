"""Placeholders and inline markup: what comes out of translation exactly as it went in.

Software strings and documents carry codes the model must not touch:
printf (``%s``, ``%1$d``, ``%(name)s``), braces (``{0}``, ``{name}``,
``{0:N2}``), ``{{name}}``, ``${name}``, HTML/XML tags and entities,
Markdown inline code, link targets and emphasis, ICU plural/select blocks. Before
the model, each code is replaced by a numbered token (``[1]``, ``[2]``: the
model copies numbers); codes at the edges of a sentence are set aside and
never shown to it. After, each token becomes its code again. A code the
model dropped is put back (an opening tag at the start, anything else at
the end), one it repeated is kept once, and the translation says so: no
output ever has a set of codes different from its source's.

The patterns are written here rather than taken from a library because
none covers this mix of syntaxes in one place; each is conservative (a
``%`` must be followed by a conversion letter, a brace by a name or
number), since what matches is never translated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CODE = re.compile(
    "|".join(
        (
            r"<!--.*?-->",  # an HTML/XML comment
            # An element whose content is not text to translate: code; the native
            # codes of XLIFF and TMX (<bpt>, <ph> ...); marked translate="no" or protected.
            r"<(code|kbd|samp|var|script|style|pre|bpt|ept|ph|it|ut)\b[^<>]*>.*?</\1\s*>",
            r"<([A-Za-z][\w:.-]*)\b[^<>]*\b(?:translate\s*=\s*[\"']?no|mtype\s*=\s*[\"']?protected)\b[^<>]*>.*?</\2\s*>",
            r"</?[A-Za-z][\w:.-]*(?:\s+[^<>]*?)?/?>",  # an HTML/XML tag
            r"&(?:[A-Za-z][A-Za-z0-9]*|#\d+|#[xX][0-9A-Fa-f]+);",  # an entity
            r"%(?:\d+\$|\([A-Za-z_]\w*\))?[-+#0]*(?:\d+|\*)?(?:\.\d+)?(?:hh|ll|[hlLqjzt])?[diouxXeEfFgGaAcspn@]",
            r"%%",
            r"\{\{[^{}]+\}\}",  # {{name}} (i18next, Vue, Handlebars)
            r"\$\{[^{}]+\}",  # ${name} (JavaScript templates, shell)
            r"\{[A-Za-z0-9_.]*(?:\s*[,:][^{}]*)?\}",  # {0}, {name}, {0:N2}, {price, number}
            r"`+[^`\n]+?`+",  # Markdown inline code
            r"\[\d+\]",  # a numbered reference, which is also what the model sees of a code
            r"\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+\"[^\"]*\")?\)",  # the ](target "title") of a Markdown link
            r"!?\[(?=[^\[\]\n]*\]\()",  # the [ or ![ that opens a Markdown link or image
            r"\]\[[^\[\]\n]*\]",  # the ][label] of a Markdown reference link
            r"!?\[(?=[^\[\]\n]*\]\[)",  # and its [
            r"\*{1,3}|~~",  # Markdown emphasis
            r"#",  # the number in an ICU plural message (and a hashtag's mark, kept as it is)
        )
    ),
    re.DOTALL,
)
# ICU MessageFormat plural/select: its syntax is a code, its messages text.
_ICU_START = re.compile(r"\{\s*[A-Za-z_][\w.]*\s*,\s*(?:plural|select|selectordinal)\s*,")
_ICU_OPTION = re.compile(r"\s*((?:=\d+|[A-Za-z_]\w*)|offset:\s*\d+)\s*")
_TOKEN = re.compile(r"[\[［]\s*([0-9０-９]+)\s*[\]］]")
_PLACEHOLDER_LIKE = re.compile(r"[%{$`#]")


def code_spans(text: str, plural_message: bool = False) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each code in ``text``, in order, not overlapping.
    In an ICU plural message, ``#`` (the number) is a code too."""
    spans: list[tuple[int, int]] = []
    at = 0
    while at < len(text):
        icu = _ICU_START.search(text, at)
        code = _CODE.search(text, at)
        hash_at = text.find("#", at) if plural_message else -1
        found = [m for m in (icu, code) if m]
        candidates = [(m.start(), m) for m in found] + ([(hash_at, None)] if hash_at >= 0 else [])
        if not candidates:
            break
        start, match = min(candidates, key=lambda c: (c[0], c[1] is not icu))
        if match is None:
            end = start + 1
        elif match is icu:
            balanced = _balanced_end(text, start)
            if balanced is None:  # not well formed: take the plain code there, if any
                if code is None or code.start() != start:
                    at = start + 1
                    continue
                balanced = code.end()
            end = balanced
        else:
            end = match.end()
        spans.append((start, end))
        at = end
    return spans


def icu_messages(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """The messages of the ICU plural/select block ``text[start:end]``:
    ``(start, end, is a plural message)`` of each, to be translated on their own."""
    header = _ICU_START.match(text, start)
    if header is None:
        return []
    plural = "plural" in header.group()
    messages = []
    at = header.end()
    while True:
        option = _ICU_OPTION.match(text, at)
        if option is None or option.end() >= end or text[option.end()] != "{":
            if option and option.group(1).startswith("offset:"):
                at = option.end()
                continue
            break
        inner_start = option.end() + 1
        inner_end = _balanced_end(text, option.end())
        if inner_end is None or inner_end > end:
            break
        messages.append((inner_start, inner_end - 1, plural))
        at = inner_end
    return messages


def _balanced_end(text: str, start: int) -> int | None:
    """The end of the brace group opening at ``text[start]``, None if it never closes."""
    depth = 0
    for at in range(start, len(text)):
        if text[at] == "{":
            depth += 1
        elif text[at] == "}":
            depth -= 1
            if depth == 0:
                return at + 1
    return None


@dataclass(frozen=True)
class Masked:
    """A sentence as the model sees it, and what to put back."""

    lead: str  # codes (and spaces) before the text: never shown to the model
    text: str  # the rest, codes replaced by [1], [2], ...
    trail: str  # codes (and spaces) after the text
    codes: tuple[str, ...]  # what token [k] stands for: codes[k - 1] (a glossary term's English form)


def mask(sentence: str, plural_message: bool = False, terms: Sequence[tuple[int, int, str]] = ()) -> Masked:
    """``sentence`` as the model should see it. ``terms``: ``(start, end,
    replacement)`` of glossary terms, masked like codes but put back as
    their replacement (a term inside a code is the code's)."""
    spans = code_spans(sentence, plural_message)
    start, end = 0, len(sentence)
    for code_start, code_end in spans:  # codes (and spaces between them) at the start
        if sentence[start:code_start].strip():
            break
        start = code_end
    for code_start, code_end in reversed(spans):
        if sentence[code_end:end].strip():
            break
        end = code_start
    if start >= end or not sentence[start:end].strip():  # nothing but codes
        return Masked(sentence, "", "", ())
    start += len(sentence[start:end]) - len(sentence[start:end].lstrip())  # spaces stay with the edges
    end -= len(sentence[start:end]) - len(sentence[start:end].rstrip())
    inside = [(s, e, sentence[s:e]) for s, e in spans if start <= s and e <= end]
    inside += [(s, e, r) for s, e, r in terms if start <= s and e <= end and not _overlaps(s, e, spans)]
    codes, parts, at = [], [], start
    for code_start, code_end, code in sorted(inside):
        codes.append(code)
        parts += [sentence[at:code_start], f"[{len(codes)}]"]
        at = code_end
    parts.append(sentence[at:end])
    return Masked(sentence[:start], "".join(parts), sentence[end:], tuple(codes))


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


def restore(output: str, masked: Masked) -> tuple[str, tuple[str, ...]]:
    """The model's ``output`` for ``masked`` with its codes back; and the codes
    it dropped or repeated (put back once, in place or at an edge)."""
    seen: set[int] = set()
    repaired: list[str] = []

    def marker(token: re.Match) -> str:
        number = int(token.group(1).translate(_FULL_WIDTH_DIGITS))
        if not 1 <= number <= len(masked.codes) or number in seen:
            if 1 <= number <= len(masked.codes):
                repaired.append(masked.codes[number - 1])
            return ""
        seen.add(number)
        return f"\x00{number}\x00"

    # Codes the model wrote itself (it learned %s or <b> from its data) are
    # not the source's: gone, between the markers of the source's own.
    pieces = _MARKER.split(_TOKEN.sub(marker, output))
    for k in range(0, len(pieces), 2):
        for start, end in reversed(code_spans(pieces[k])):
            pieces[k] = f"{pieces[k][:start]} {pieces[k][end:]}"
        pieces[k] = pieces[k].replace("`", "")  # a stray backtick would start a code span
    text = " ".join("".join(p if k % 2 == 0 else f"\x00{p}\x00" for k, p in enumerate(pieces)).split())
    # The model spaces its tokens as words: <b>save</b>, not <b> save </b>.
    text = _OPENING_SPACE.sub(lambda m: m.group(1) if _opens(masked, m.group(1)) else m.group(0), text)
    text = _CLOSING_SPACE.sub(lambda m: m.group(1) if _closes(masked, m.group(1)) else m.group(0), text)
    pieces = _MARKER.split(text)  # text, number, text, number, ... text
    text = ""
    for k, piece in enumerate(pieces):
        text = _joined(text, masked.codes[int(piece) - 1]) if k % 2 else text + piece
    for k in range(1, len(masked.codes) + 1):
        if k not in seen:
            repaired.append(masked.codes[k - 1])
            text = _put_back(text, masked.codes[k - 1], masked.codes)
    return _joined(_joined(masked.lead, text), masked.trail), tuple(dict.fromkeys(repaired))


def _joined(left: str, right: str) -> str:
    """``left + right``, with a space between where their codes would otherwise
    run together (two `code` spans make one ``code``code``)."""
    if left and right and codes_of(left + right) != codes_of(left) + codes_of(right):
        return f"{left} {right}"
    return left + right


_MARKER = re.compile("\x00(\\d+)\x00")
_OPENING_SPACE = re.compile("(\x00\\d+\x00) ")
_CLOSING_SPACE = re.compile(" (\x00\\d+\x00)")
_OPENING_TAG = re.compile(r"<[A-Za-z][^<>]*(?<!/)>")  # one tag, not self-closing
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’)]*$")


def _code_of(masked: Masked, marker: str) -> str:
    return masked.codes[int(marker.strip("\x00")) - 1]


def _opens(masked: Masked, marker: str) -> bool:
    """An opening tag, or the [ that opens a Markdown link: the text follows it closely."""
    code = _code_of(masked, marker)
    return bool(_OPENING_TAG.fullmatch(code)) or code in ("[", "![")


def _closes(masked: Masked, marker: str) -> bool:
    code = _code_of(masked, marker)
    return code.startswith(("</", "](", "]["))


def _put_back(text: str, code: str, codes: tuple[str, ...]) -> str:
    """An opening tag whose closing tag is there goes first; anything else at
    the end, before the sentence's final punctuation."""
    name = re.match(r"<([A-Za-z][\w:.-]*)", code)
    if (name and f"</{name.group(1)}>" in codes) or code in ("[", "!["):
        return code + text
    final = _SENTENCE_END.search(text)
    body, end = (text[: final.start()], final.group()) if final else (text, "")
    spaced = _PLACEHOLDER_LIKE.match(code) or code[:1].isalnum()  # a placeholder or a glossary term's English
    space = " " if spaced and body and not body.endswith(" ") else ""
    return body + space + code + end


def codes_of(text: str) -> list[str]:
    """Every code of ``text``, in order (to compare a source with a translation)."""
    return [text[s:e] for s, e in code_spans(text)]


def without_codes(text: str) -> str:
    """``text`` with each code replaced by a space: its words only."""
    for start, end in reversed(code_spans(text)):
        text = f"{text[:start]} {text[end:]}"
    return text


_FULL_WIDTH_DIGITS = {code: code - 0xFF10 + ord("0") for code in range(0xFF10, 0xFF1A)}
