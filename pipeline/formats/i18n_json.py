"""JSON message files (vue-i18n, i18next, react-intl, Chrome's messages.json):
each string value with Chinese in it is a part; keys, key order, numbers,
formatting and indentation are the file's own, byte for byte.

``json.load`` and ``json.dump`` would re-serialize the whole file (its
indentation, spacing, escapes and final newline), and so does
translate-toolkit's ``jsonl10n`` (measured on tests/data/formats: an inline
array comes back one item a line), so the values are found
in the text itself: a small scanner walks the JSON and records where each
string value stands; only those bytes are replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from ..data import Document, Part
from ..errors import ZhenError
from ..han import HAN
from ..textio import decode_raw, printable
from .base import Source, Translated

_SURROGATE = re.compile("[\ud800-\udfff]")


def read(path: Path, data: bytes, encoding: str | None = None) -> Source:
    text, used = decode_raw(data, encoding, source=str(path))
    body = text.removeprefix("\ufeff")
    try:
        json.loads(body)
        strings = _string_values(body)
    except ValueError as err:
        raise ZhenError(f"{path} is not valid JSON ({err}); nothing was written") from None
    except RecursionError:
        raise ZhenError(f"{path} nests its arrays or objects too deeply to read; nothing was written") from None
    offset = len(text) - len(body)
    values = [(start + offset, end + offset, value, key) for start, end, value, key in strings]
    # A value with a lone surrogate (\ud800) is not Unicode text: kept as it is.
    chinese = [
        (start, end, value, key)
        for start, end, value, key in values
        if HAN.search(value) and not _SURROGATE.search(value)
    ]
    parts = tuple(Part(value, text.count("\n", 0, start) + 1, key) for start, _, value, key in chinese)
    document = Document(printable(path.as_posix()), path.stem, text, used, "json", parts)
    escape_non_ascii = body.isascii() and "\\u" in body  # the file writes non-ASCII as \\uXXXX

    def render(translated: Sequence[Translated]) -> bytes:
        translations = [t.text for t in translated]
        out, at = [], 0
        for (start, end, _, _), translation in zip(chinese, translations, strict=True):
            out += [text[at:start], json.dumps(translation, ensure_ascii=escape_non_ascii)]
            at = end
        out.append(text[at:])
        return "".join(out).encode(used)

    return Source(document, render)


def _string_values(text: str) -> list[tuple[int, int, str, str]]:
    """``(start, end, value, key path)`` of each string value (not key) in ``text``, valid JSON."""
    found: list[tuple[int, int, str, str]] = []
    decoder = json.JSONDecoder()

    def skip(at: int) -> int:
        while at < len(text) and text[at] in " \t\n\r":
            at += 1
        return at

    def value(at: int, key: str) -> int:
        at = skip(at)
        if text[at] in "{[":
            closing, index = "}" if text[at] == "{" else "]", 0
            at = skip(at + 1)
            while text[at] != closing:
                if closing == "}":
                    name, at = decoder.raw_decode(text, at)
                    at = value(skip(at) + 1, f"{key}.{name}" if key else name)  # past the colon
                else:
                    at = value(at, f"{key}[{index}]")
                    index += 1
                at = skip(at)
                if text[at] == ",":
                    at = skip(at + 1)
            return at + 1
        scalar, end = decoder.raw_decode(text, at)
        if isinstance(scalar, str):
            found.append((at, end, scalar, key))
        return end

    value(0, "")
    return found
