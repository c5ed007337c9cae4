"""SQLite files that several zhen processes share: the translation cache and
the translation memory.

Both are opened in WAL mode, so readers never wait for a writer and a
process killed at any point (even ``kill -9``) leaves every committed
transaction intact and nothing half-written; ``make -j`` runs share them.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from .errors import ZhenError

TIMEOUT = 60  # seconds to wait for another process's write


def connect(path: Path, schema: str) -> sqlite3.Connection:
    """Open (creating if need be) the database at ``path`` with ``schema``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode; writes are grouped by explicit transactions.
    db = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
    _switch_to_wal(db)
    db.execute("PRAGMA synchronous=NORMAL")  # durable against crashes, not power loss
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """All the writes in the block, or none of them."""
    with closing(db.cursor()) as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already
                cursor.execute("ROLLBACK")
            raise


@contextmanager
def errors_as(message: str) -> Iterator[None]:
    """Turn a database or file error into a one-line ZhenError: ``message: error``."""
    try:
        yield
    except (OSError, sqlite3.Error) as err:
        raise ZhenError(f"{message}: {err}") from None


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """WAL mode, retried: on a new file, a second process switching at the same
    moment gets "database is locked" at once, whatever the busy timeout."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05 + random.random() * 0.1)
