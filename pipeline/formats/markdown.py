"""Markdown (CommonMark with GitHub tables): the text of paragraphs,
headings, list items, block quotes and table cells is translated; code
blocks and fences, front matter, raw HTML blocks, link reference
definitions and every block marker stay byte for byte. Inside the text,
inline code, link and image targets, HTML and emphasis marks are codes
(:mod:`pipeline.protect`), kept as they are.

markdown-it-py finds the blocks and their lines (its token ``map``); the
text is then located in those lines, so that only its bytes are replaced
(markdown-it-py renders HTML, not Markdown, so it cannot write the file
back). A paragraph wrapped over several lines becomes one line of English
(its continuation lines' markers go with the text); hard line breaks are
kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from markdown_it import MarkdownIt

from ..data import Document, Part
from ..han import HAN, is_han
from ..textio import decode_raw, printable
from .base import Source, Translated

_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)\r?\n.*?\n(?:---|\+\+\+)\r?\n", re.DOTALL)
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    text, used = decode_raw(data, encoding, source=str(path))
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    # Front matter is not Markdown: hidden from the parser, line for line.
    front = _FRONT_MATTER.match(text)
    hidden_lines = text[: front.end()].count("\n") if front else 0
    parsed = "\n" * hidden_lines + text[front.end() :] if front else text
    runs = []  # (line of each piece, start, end) of each part: its text in the lines it spans
    searched_from: dict[int, int] = {}  # per line: where the last piece found ends (table cells share a line)
    for token in MarkdownIt("commonmark").enable("table").parse(parsed):
        if token.type == "inline" and token.map:
            found = _runs(token.content, token.map[0], lines, starts, searched_from)
            runs += [run for run in found if HAN.search(_joined(text, run))]
    parts = tuple(Part(_joined(text, pieces), pieces[0][0] + 1) for pieces in runs)
    document = Document(printable(path.as_posix()), path.stem, text, used, "md", parts)

    def render(translated: Sequence[Translated]) -> bytes:
        translations = [t.text for t in translated]
        # Each run's text, from its first character to its last, continuation
        # lines and their markers with it, becomes the translation.
        out, at = [], 0
        for pieces, translation in sorted(zip(runs, translations, strict=True)):
            out += [text[at : pieces[0][1]], translation]
            at = pieces[-1][2]
        out.append(text[at:])
        return "".join(out).encode(used)

    return Source(document, render)


def _runs(
    content: str, first_line: int, lines: list[str], starts: list[int], searched_from: dict[int, int]
) -> list[list[tuple[int, int, int]]]:
    """Where the inline ``content`` of a block stands in the file: one run of
    ``(line, start, end)`` pieces per stretch between hard line breaks. Each
    content line is found in its source line, after the block's markers."""
    runs: list[list[tuple[int, int, int]]] = [[]]
    for offset, piece in enumerate(content.split("\n")):
        number = first_line + offset
        line = lines[number].rstrip("\r\n")
        found = line.find(piece.rstrip(), searched_from.get(number, 0))
        if found < 0 or not piece.strip():
            continue
        end = found + len(piece.rstrip())
        searched_from[number] = end
        runs[-1].append((number, starts[number] + found, starts[number] + end))
        if _HARD_BREAK.search(line):
            runs.append([])
    return [run for run in runs if run]


def _wide(char: str) -> bool:
    """A Chinese character or CJK punctuation: no space around it."""
    return is_han(char) or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"


def _joined(text: str, pieces: list[tuple[int, int, int]]) -> str:
    """The text of a run's pieces as one line: Chinese lines join without a
    space (a line break is no word break in Chinese), others with one."""
    joined = ""
    for _, start, end in pieces:
        piece = text[start:end].strip()
        if joined and not (_wide(joined[-1]) and _wide(piece[0])):
            joined += " "
        joined += piece
    return joined
