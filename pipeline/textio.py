"""Input decoding and safe output writing: the I/O edges of the pipeline."""

from __future__ import annotations

import codecs
import functools
import glob
import os
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

from .data import Document
from .errors import ZhenError
from .han import HAN
from .store import is_sqlite

# Line separators other than \n that Python's str.splitlines() honours.
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Characters that XML 1.0 forbids or that have no place in text (C0/C1
# controls other than tab and newline, DEL, noncharacters). msgfmt and CAT
# tools choke on them, so they never get past the reader or the writers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

# Lone surrogates other than those Python's file system decoding makes of bytes.
_STRAY_SURROGATE = re.compile(r"[\ud800-\udc7f\udd00-\udfff]")

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


def printable(name: str) -> str:
    """A file name as text zhen writes (PO references, comments, notes, logs):
    bytes that are not UTF-8 (a name from another system) and characters
    that cannot stand on one line (line breaks, controls) become U+FFFD, so
    that every file zhen writes reads back the same."""
    raw = name.encode("utf-8", "surrogateescape" if not _STRAY_SURROGATE.search(name) else "replace")
    return "".join(c if c.isprintable() else "\ufffd" for c in raw.decode("utf-8", "replace"))


def clean_segment(text: str) -> str:
    """A segment as written to TMX and PO: no control characters, no outer spaces."""
    return remove_control_chars(text).strip()


def normalize_text(text: str) -> str:
    """Drop a byte-order mark, normalise line ends to ``\\n``, drop control characters."""
    return remove_control_chars(_LINE_BREAKS.sub("\n", text.removeprefix("\ufeff")))


def read_bytes(path: str | Path) -> bytes:
    """A document's bytes (``-``: standard input), refusing one too large to hold."""
    if str(path) == "-":
        return _at_most(sys.stdin.buffer, "stdin")
    try:
        with Path(path).open("rb") as file:
            return _at_most(file, str(path))
    except OSError as err:
        raise ZhenError(f"cannot read {path}: {err.strerror or err}") from None


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
    return Document(path=printable(path.as_posix()), name=path.stem, text=text, encoding=used)


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
    """Decode ``data`` and return ``(normalised text, encoding used)`` (see :func:`decode_raw`)."""
    text, used = decode_raw(data, encoding, source)
    return normalize_text(text), used


def decode_raw(data: bytes, encoding: str | None = None, source: str = "input") -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding used)``, the text exactly
    as the bytes say (line ends and all: structured formats keep them).

    With ``encoding`` the bytes must decode strictly in it. Otherwise: a BOM
    decides; then mostly-ASCII UTF-16 without BOM (NULs in every other byte);
    then UTF-8; then whichever of GB18030, Big5 and UTF-16 without BOM reads
    as everyday Chinese. Anything else is an error, never mojibake.
    """
    if encoding:
        return _decode_strict(data, encoding, source), encoding
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_strict(data, codec, source), codec
    for codec in _ascii_utf16_guess(data):  # valid UTF-8 too, so it goes first
        try:
            return data.decode(codec), codec
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
    return text, "utf-8"


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
        return text, codec
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


# Output paths that are streams, not files: written to, never replaced.
STDOUT_NAMES = ("-", "/dev/stdout")
DISCARD_NAMES = ("/dev/null",)


def is_stream(path: str | Path) -> bool:
    """Standard output or /dev/null: written as a stream (there is nothing to merge with)."""
    return str(path) in STDOUT_NAMES + DISCARD_NAMES


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new, never half.

    This is where every file zhen writes goes through, and its rules are
    the ones :func:`check_writable` states. The bytes go to a temporary file
    in the same directory, are flushed to disk, and the file is renamed over
    ``path`` (atomic on POSIX). ``-`` and ``/dev/stdout`` are standard
    output, and ``/dev/null`` takes the bytes and keeps nothing.
    """
    if str(path) in STDOUT_NAMES:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if str(path) in DISCARD_NAMES:
        return
    target = check_writable(Path(path))
    try:
        _write_then_rename(target, data)
    except OSError as err:
        raise ZhenError(f"cannot write {path}: {err.strerror or err}") from None


def check_writable(path: Path) -> Path:
    """Fail early where writing ``path`` would fail, overrule someone or harm
    a file zhen has no business touching; return the file to replace.

    - Only a regular file is replaced: a directory, device, FIFO or socket
      at ``path`` is refused (streams have names of their own: ``-``).
    - A symbolic link is written through only to a file in the link's own
      directory (or below it): a link pointing elsewhere is refused rather
      than the file it points to replaced.
    - A SQLite database (the translation memory, the cache) is never
      written over, whatever its name.
    - A file with no write permission for anyone was made read-only on
      purpose (a reviewer protecting their work), so it is not replaced.
    """
    if is_stream(path):
        return path
    target = _followed(path)
    if target.exists() and not target.is_file():
        what = "a directory" if target.is_dir() else "not a regular file (a device, FIFO or socket)"
        raise ZhenError(f"{path} is {what}; zhen writes only regular files (standard output is -)")
    if target.is_file() and is_sqlite(target):
        raise ZhenError(f"{path} is a SQLite database (a translation memory or cache?); zhen never writes over one")
    if target.exists() and not target.stat().st_mode & 0o222:
        raise ZhenError(f"{path} is read-only; make it writable or move it away")
    if not target.parent.is_dir():
        raise ZhenError(f"cannot write {path}: {path.parent} is not a directory")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise ZhenError(f"cannot write {path}: no permission to write in {path.parent}")
    return target


def _followed(path: Path) -> Path:
    """``path``, or the file a symbolic link there points to, if that lies in the link's directory."""
    if not path.is_symlink():
        return path.absolute()
    target, home = path.resolve(), path.absolute().parent.resolve()
    if not target.is_relative_to(home):
        raise ZhenError(
            f"{path} is a symbolic link to {target}, outside {path.parent}; zhen writes through a link only to "
            "a file in the link's own folder: remove the link, or write elsewhere"
        )
    return target


def _write_then_rename(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    # The writer's process id in the name tells a file being written from
    # one a killed process left behind (remove_stale_temporaries).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
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


def remove_stale_temporaries(path: Path) -> None:
    """Remove the temporary files of ``path`` that a process killed while
    writing it left behind (``kill -9``: nothing could clean up); those of a
    process still running are its to rename."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
