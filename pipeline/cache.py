"""A persistent cache of machine translations in SQLite: nothing is translated twice.

Entries are keyed by the model's fingerprint, the decoding settings and the
source text (a sentence, or a piece of one too long for the model), so a
changed model or setting never serves stale output. A run killed at any
point loses at most the batch in flight (each batch is one transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import store
from .engines import Output
from .errors import ZhenError

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


class TranslationCache:
    """Cached model outputs for one model and one set of decoding settings."""

    def __init__(self, path: str | Path, model: str, settings: str):
        self.path, self.model, self.settings = Path(path), model, settings
        try:
            self.db = store.connect(self.path, store.CACHE, _SCHEMA)
        except ZhenError as err:  # not a cache at all
            raise ZhenError(f"{err} (--no-cache runs without it)") from None
        except (OSError, sqlite3.Error) as err:
            raise ZhenError(
                f"cannot open the translation cache {self.path}: {err} (--no-cache runs without it)"
            ) from None

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
        with self._errors("write to"), store.transaction(self.db, f"the translation cache {self.path}") as cursor:
            cursor.executemany("INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _errors(self, doing: str):
        return store.errors_as(f"cannot {doing} the translation cache {self.path} (--no-cache runs without it)")


class NoCache:
    """``--no-cache``: remembers nothing."""

    def get(self, sources: Iterable[str]) -> dict[str, Output]:
        return {}

    def put(self, outputs: Mapping[str, Output]) -> None:
        pass
