"""Plain text: each non-blank line is a paragraph, and a part."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..data import Document, Part
from ..textio import decode, printable
from .base import Source, Translated


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    text, used = decode(data, encoding, source=str(path))
    lines = text.split("\n")
    parts = tuple(Part(line.strip(), number) for number, line in enumerate(lines, 1) if line.strip())
    document = Document(printable(path.as_posix()), path.stem, text, used, "txt", parts)

    def render(translated: Sequence[Translated]) -> bytes:
        translations = [t.text for t in translated]
        """The document as UTF-8, each line translated, its indentation and blank lines kept."""
        by_line = {part.line: translation for part, translation in zip(parts, translations, strict=True)}
        out = [
            line[: len(line) - len(line.lstrip())] + by_line[number] if number in by_line else line
            for number, line in enumerate(lines, 1)
        ]
        return "\n".join(out).encode("utf-8")

    return Source(document, render)
