"""A persistent cache of machine translations in SQLite: nothing is translated twice.

Entries are keyed by the model's fingerprint, the decoding settings and the
source text (a sentence, or a piece of one too long for the model), so a changed model or setting never serves stale
output. The database is in WAL mode: a run killed at any point loses at most
the batch in flight (each batch is one committed transaction), and several
processes (``make -j``) read and write it at once.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Iterable, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

from .engines import Output
from .errors import ZhenError

CACHE_ENV_VAR = "ZHEN_CACHE"
_TIMEOUT = 60  # seconds to wait for another process's write

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    model TEXT NOT NULL,     -- model fingerprint
    settings TEXT NOT NULL,  -- engine, precision, beams, length limits, guard
    source TEXT NOT NULL,    -- the sentence, or a piece of one too long for the model
    ids TEXT NOT NULL,       -- output token ids, space-separated
    logprob REAL NOT NULL,
    finished INTEGER NOT NULL,
    PRIMARY KEY (model, settings, source)
) WITHOUT ROWID
"""


def default_cache_path() -> Path:
    """``$ZHEN_CACHE``, else the user's cache directory."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zhen" / "translations.sqlite"


class TranslationCache:
    """Cached model outputs for one model and one set of decoding settings."""

    def __init__(self, path: str | Path, model: str, settings: str):
        self.path, self.model, self.settings = Path(path), model, settings
        with self._errors("open"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode; writes are grouped by explicit transactions.
            self.db = sqlite3.connect(self.path, timeout=_TIMEOUT, isolation_level=None)
            _switch_to_wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable against crashes, not power loss
            self.db.execute(_SCHEMA)

    def get(self, sources: Iterable[str]) -> dict[str, Output]:
        found = {}
        query = "SELECT source, ids, logprob, finished FROM translations WHERE model=? AND settings=? AND source=?"
        with self._errors("read"):
            for source in sources:
                row = self.db.execute(query, (self.model, self.settings, source)).fetchone()
                if row:
                    found[source] = Output(tuple(int(i) for i in row[1].split()), row[2], bool(row[3]))
        return found

    def put(self, outputs: Mapping[str, Output]) -> None:
        """Store one batch's outputs in one transaction."""
        rows = [
            (self.model, self.settings, source, " ".join(map(str, out.ids)), out.logprob, int(out.finished))
            for source, out in outputs.items()
        ]
        with self._errors("write to"), closing(self.db.cursor()) as cursor:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?)", rows)
                cursor.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # SQLite may have rolled back already
                    cursor.execute("ROLLBACK")
                raise

    @contextmanager
    def _errors(self, doing: str):
        try:
            yield
        except (OSError, sqlite3.Error) as err:
            raise ZhenError(f"cannot {doing} the translation cache {self.path}: {err} (--no-cache skips it)") from None


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """WAL mode, retried: on a new file, a second process switching at the same
    moment gets "database is locked" at once, whatever the busy timeout."""
    deadline = time.monotonic() + _TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05 + random.random() * 0.1)


class NoCache:
    """``--no-cache``: remembers nothing."""

    def get(self, sources: Iterable[str]) -> dict[str, Output]:
        return {}

    def put(self, outputs: Mapping[str, Output]) -> None:
        pass
