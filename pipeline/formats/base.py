"""What every format shares: a document read into parts, and written back
with each part's translation in its place.

A format module has one function, ``read(path, data, encoding)``, which
returns a :class:`Source`: the :class:`~pipeline.data.Document` with its
translatable parts, and ``render``, which gives the document's bytes with a
:class:`Translated` for each part (in the order of ``document.parts``). Everything
that is not a part is written back byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..data import Document
from ..segment import Layout, layout

# The translation of one sentence of a part (its source text verbatim when it has no Chinese).
Translate = Callable[[str], str]


@dataclass(frozen=True)
class Translated:
    """A part's translation, and whether a person approved every sentence of it."""

    text: str
    approved: bool = False
    comment: str = ""  # what zhen says of it (a gettext catalog shows it)


@dataclass(frozen=True)
class Source:
    document: Document
    render: Callable[[Sequence[Translated]], bytes]  # the translated document, given each part's translation


def translate_part(text: str, translate: Translate, whole: bool = False) -> str:
    """``text`` with each of its sentences translated (``translate``) and the
    rest kept: spaces and line breaks between sentences, placeholders and
    tags at the edges, the syntax of ICU blocks."""
    return _render(text, 0, len(text), layout(text, whole=whole), translate)


def _render(text: str, low: int, high: int, laid: Layout, translate: Translate) -> str:
    """``text[low:high]`` translated; the spans of ``laid`` are offsets in ``text``."""
    out, previous = [], low
    for number, (start, end) in enumerate(laid.sentences):
        gap = text[previous:start]
        if number and "\n" not in gap:
            gap = " "  # Chinese runs its sentences together; English does not
        out += [gap, translate(text[start:end])]
        previous = end
    out.append(text[previous:high])
    rendered = "".join(out)
    for start, end, messages in laid.blocks:  # an ICU block is a code, in the output verbatim
        rendered = rendered.replace(text[start:end], _render_block(text, start, end, messages, translate), 1)
    return rendered


def _render_block(text: str, start: int, end: int, messages, translate: Translate) -> str:
    """An ICU block with each message translated, its syntax kept."""
    pieces, at = [], start
    for message_start, message_end, inner in messages:
        pieces += [text[at:message_start], _render(text, message_start, message_end, inner, translate)]
        at = message_end
    pieces.append(text[at:end])
    return "".join(pieces)
