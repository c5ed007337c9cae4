"""Input decoding and safe output writing: the I/O edges of the pipeline."""

from __future__ import annotations

import codecs
import functools
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

from .data import Document
from .errors import ZhenError
from .han import HAN

# Line separators other than \n that Python's str.splitlines() honours.
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Characters that XML 1.0 forbids or that have no place in text (C0/C1
# controls other than tab and newline, DEL, noncharacters). msgfmt and CAT
# tools choke on them, so they never get past the reader or the writers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LEGACY_CHINESE: tuple[str, ...] = ("gb18030", "big5")
# A document is held in memory whole, with its sentences: 256 MiB of text
# needs some 6 GB.
MAX_DOCUMENT_BYTES = 256 * 2**20


def remove_control_chars(text: str) -> str:
    """Drop characters that must not reach a TMX or PO file."""
    return _CONTROL.sub("", text)


def clean_segment(text: str) -> str:
    """A segment as written to TMX and PO: no control characters, no outer spaces."""
    return remove_control_chars(text).strip()


def normalize_text(text: str) -> str:
    """Drop a byte-order mark, normalise line ends to ``\\n``, drop control characters."""
    return remove_control_chars(_LINE_BREAKS.sub("\n", text.removeprefix("\ufeff")))


def read_document(path: str | Path, encoding: str | None = None) -> Document:
    """Read and decode a plain-text document (see :func:`decode`); ``-`` is stdin."""
    if str(path) == "-":
        text, used = decode(_at_most(sys.stdin.buffer, "stdin"), encoding, source="stdin")
        return Document(path="stdin", name="stdin", text=text, encoding=used)
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = _at_most(file, str(path))
    except OSError as err:
        raise ZhenError(f"cannot read {path}: {err.strerror or err}") from None
    text, used = decode(data, encoding, source=str(path))
    return Document(path=path.as_posix(), name=path.stem, text=text, encoding=used)


def _at_most(file, name: str) -> bytes:
    """The file's bytes, refusing a document too large to hold in memory
    (a run needs about 25 bytes of memory per byte of text)."""
    data = file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ZhenError(
            f"{name} is over {MAX_DOCUMENT_BYTES // 2**20} MiB, more than zhen holds in memory at once; "
            "split it into several documents"
        )
    return data


def decode(data: bytes, encoding: str | None = None, source: str = "input") -> tuple[str, str]:
    """Decode ``data`` and return ``(normalised text, encoding used)``.

    With ``encoding`` the bytes must decode strictly in it. Otherwise: a BOM
    decides; then mostly-ASCII UTF-16 without BOM (NULs in every other byte);
    then UTF-8; then whichever of GB18030, Big5 and UTF-16 without BOM reads
    as everyday Chinese. Anything else is an error, never mojibake.
    """
    if encoding:
        return normalize_text(_decode_strict(data, encoding, source)), encoding
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return normalize_text(_decode_strict(data, codec, source)), codec
    for codec in _ascii_utf16_guess(data):  # valid UTF-8 too, so it goes first
        try:
            return normalize_text(data.decode(codec)), codec
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return _decode_chinese(data, source, f"byte 0x{data[err.start]:02x} at offset {err.start}")
    # Valid UTF-8 may hold a stray control character (it is dropped), but a
    # file that is mostly control bytes (zeros, say) is not text.
    if _control_share(text) > 0.1:
        raise ZhenError(f"{source} looks like a binary file, not plain text")
    return normalize_text(text), "utf-8"


def _decode_strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise ZhenError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as err:
        raise ZhenError(
            f"{source} is not valid {encoding}: byte 0x{data[err.start]:02x} at offset "
            f"{err.start} cannot be decoded (pass the right --encoding)"
        ) from None


def _ascii_utf16_guess(data: bytes) -> list[str]:
    """Mostly-ASCII UTF-16 without a BOM has a NUL in every other byte."""
    if len(data) % 2 or b"\x00" not in data:
        return []
    sample = data[:4096]
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return ["utf-16-le"]
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return ["utf-16-be"]
    return []


def _control_share(text: str | bytes) -> float:
    """The share of control characters (other than line breaks) in the first 8 K."""
    sample = text[:8192]
    if isinstance(sample, bytes):
        sample = sample.decode("latin-1")
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\f\v")
    return controls / max(1, len(sample))


def _decode_chinese(data: bytes, source: str, utf8_error: str) -> tuple[str, str]:
    # charset-normalizer and chardet guess wrong on short Chinese texts (a
    # headline in GBK comes out as UTF-16 or Big5), so decide ourselves: the
    # right decoding reads as everyday Chinese, a wrong one has rare
    # characters, the other script's forms, or symbols from other blocks.
    codecs_to_try = _LEGACY_CHINESE + (("utf-16-le", "utf-16-be") if len(data) % 2 == 0 else ())
    scored = []
    for codec in codecs_to_try:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        scored.append((_everyday_share(text), codec, text))
    share, codec, text = max(scored, key=lambda s: s[0], default=(0.0, "", ""))  # ties: first listed
    if share >= 0.9:
        return normalize_text(text), codec
    if b"\x00" in data[:8192] or _control_share(data) > 0.01:
        raise ZhenError(f"{source} looks like a binary file, not plain text")
    if not scored:
        raise ZhenError(
            f"{source} is not UTF-8 ({utf8_error}), UTF-16, GB18030 or Big5 text; "
            "if it is text in another encoding, pass --encoding"
        )
    raise ZhenError(
        f"cannot tell the encoding of {source}: it is not UTF-8 ({utf8_error}) and does not "
        "read as Chinese in GB18030, Big5 or UTF-16; pass --encoding"
    )


def _everyday_share(text: str) -> float:
    """The share of visible characters that everyday Chinese text is made of:
    common hanzi, CJK and ASCII punctuation, Latin letters and digits."""
    visible = [c for c in text[:20000] if not c.isspace()]
    if not visible:
        return 0.0
    common = _common_hanzi()
    everyday = sum(
        1
        for c in visible
        if c in common
        or " " < c < "\x7f"
        or (unicodedata.category(c).startswith("P") and not c.isalnum())
        or ("\uff01" <= c <= "\uff5e")  # full-width ASCII forms
    )
    return everyday / len(visible)


@functools.cache
def _common_hanzi() -> frozenset[str]:
    """The everyday characters: GB2312 level 1 (3,755) and Big5 level 1 (5,401)."""
    pairs = [(bytes([lead, trail]), "gb2312") for lead in range(0xB0, 0xD8) for trail in range(0xA1, 0xFF)]
    pairs += [
        (bytes([lead, trail]), "big5")
        for lead in range(0xA4, 0xC7)
        for trail in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    ]
    text = "".join(code.decode(codec, errors="ignore") for code, codec in pairs)
    # Only hanzi: Big5's row C6 also holds Japanese kana.
    return frozenset(HAN.findall(text))


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new, never half.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, and the file is renamed over ``path`` (atomic on POSIX).
    """
    path = Path(path)
    check_writable(path)
    try:
        _write_then_rename(path.resolve(), data)  # through a symlink, to its target
    except OSError as err:
        raise ZhenError(f"cannot write {path}: {err.strerror or err}") from None


def check_writable(path: Path) -> None:
    """Fail early where writing ``path`` would fail or overrule someone.

    A file with no write permission for anyone was made read-only on
    purpose (a reviewer protecting their work), so it is not replaced.
    """
    target = path.resolve()
    if target.is_dir():
        raise ZhenError(f"{path} is a directory")
    if target.exists() and not target.stat().st_mode & 0o222:
        raise ZhenError(f"{path} is read-only; make it writable or move it away")
    if not target.parent.is_dir():
        raise ZhenError(f"cannot write {path}: {path.parent} is not a directory")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise ZhenError(f"cannot write {path}: no permission to write in {path.parent}")


def _write_then_rename(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # the old file's permissions, or the usual ones
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
