"""SQLite files that several zhen processes share: the translation cache and
the translation memory.

Both are opened in WAL mode, so readers never wait for a writer and a
process killed at any point (even ``kill -9``) leaves every committed
transaction intact and nothing half-written; ``make -j`` runs share them.

Each database says what it is (SQLite's ``application_id``), so that one
is never taken for the other, and nothing else is ever taken for either:
a path that holds another file, or another program's database, is an
error, never overwritten.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ZhenError

log = logging.getLogger(__name__)

TIMEOUT = 60  # seconds to wait for another process's write
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Kind:
    """A kind of zhen database: what it is called, how it marks itself, its tables."""

    name: str
    application_id: int  # in the database's header
    table: str  # a table only this kind has, to recognise files made before application_id


MEMORY = Kind("translation memory", 0x7A684D45, "approved")  # "zhME"
CACHE = Kind("translation cache", 0x7A684341, "translations")  # "zhCA"
KINDS = (MEMORY, CACHE)


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def connect(path: Path, kind: Kind, schema: str) -> sqlite3.Connection:
    """Open (creating if need be) the database of ``kind`` at ``path``, with ``schema``."""
    _check_is(path, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode; writes are grouped by explicit transactions.
    db = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
    found = db.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if found not in (0, kind.application_id) or (found == 0 and tables and kind.table not in tables):
        db.close()
        other = next((k.name for k in KINDS if found == k.application_id or k.table in tables), None)
        what = f"zhen's {other}" if other else "another program's SQLite database"
        raise ZhenError(f"{path} is {what}, not a {kind.name}")
    _switch_to_wal(db, path, kind)
    db.execute("PRAGMA synchronous=NORMAL")  # durable against crashes, not power loss
    if found != kind.application_id or kind.table not in tables:  # new: writes, so only once
        db.executescript(schema)
        db.execute(f"PRAGMA application_id={kind.application_id}")
    return db


def _check_is(path: Path, kind: Kind) -> None:
    """A file at ``path`` must be a SQLite database (or empty, as a new one is)."""
    if path.exists() and not path.is_file():
        raise ZhenError(f"{path} is not a regular file, so it cannot be a {kind.name}")
    if path.is_file() and path.stat().st_size and not is_sqlite(path):
        hint = ""
        if kind == MEMORY and path.suffix.lower() in (".tmx", ".po"):
            hint = f"; to add its translations to the memory: zhen import-{path.suffix.lower()[1:]} {path}"
        raise ZhenError(f"{path} is not a {kind.name} (a SQLite database zhen made){hint}")


@contextmanager
def transaction(db: sqlite3.Connection, what: str = "the database") -> Iterator[sqlite3.Cursor]:
    """All the writes in the block, or none of them.

    When another process is writing, say so at once, then wait for it (up to
    TIMEOUT seconds) rather than seem to hang.
    """
    with closing(db.cursor()) as cursor:
        _begin(db, cursor, what)
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already
                cursor.execute("ROLLBACK")
            raise


def _begin(db: sqlite3.Connection, cursor: sqlite3.Cursor, what: str) -> None:
    db.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as err:
        if "locked" not in str(err) and "busy" not in str(err):
            raise
    finally:
        db.execute(f"PRAGMA busy_timeout = {TIMEOUT * 1000}")
    log.warning("waiting for another process to finish writing to %s (up to %d s)", what, TIMEOUT)
    cursor.execute("BEGIN IMMEDIATE")


@contextmanager
def errors_as(message: str) -> Iterator[None]:
    """Turn a database or file error into a one-line ZhenError: ``message: error``."""
    try:
        yield
    except (OSError, sqlite3.Error) as err:
        raise ZhenError(f"{message}: {err}") from None


def _switch_to_wal(db: sqlite3.Connection, path: Path, kind: Kind) -> None:
    """WAL mode, retried: on a new file, a second process switching at the same
    moment gets "database is locked" at once, whatever the busy timeout."""
    deadline = time.monotonic() + TIMEOUT
    warned = False
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            if not warned and time.monotonic() > deadline - TIMEOUT + 1:
                log.warning("waiting for another process to release the %s %s (up to %d s)", kind.name, path, TIMEOUT)
                warned = True
            time.sleep(0.05 + random.random() * 0.1)
