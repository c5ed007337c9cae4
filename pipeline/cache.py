"""A persistent cache of machine translations in SQLite: nothing is translated twice.

Entries are keyed by the model's fingerprint, the decoding settings and the
source text (a sentence, or a piece of one too long for the model), so a
changed model or setting never serves stale output. A run killed at any
point loses at most the batch in flight (each batch is one transaction).
The same file keeps the aligner's sentence vectors, by encoder fingerprint
and sentence, exactly as computed (float32), so a cached alignment is the
same alignment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

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


_VECTORS = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,     -- sentence encoder fingerprint
    text TEXT NOT NULL,      -- an English sentence
    vector BLOB NOT NULL,    -- float32, native byte order
    PRIMARY KEY (model, text)
) WITHOUT ROWID
"""


class _CacheFile:
    """The cache's SQLite file, with one-line errors that say how to do without it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.db = store.connect(self.path, store.CACHE, _SCHEMA)
        except ZhenError as err:  # not a cache at all
            raise ZhenError(f"{err} (--no-cache runs without it)") from None
        except (OSError, sqlite3.Error) as err:
            raise ZhenError(
                f"cannot open the translation cache {self.path}: {err} (--no-cache runs without it)"
            ) from None

    def _errors(self, doing: str):
        return store.errors_as(f"cannot {doing} the translation cache {self.path} (--no-cache runs without it)")


class TranslationCache(_CacheFile):
    """Cached model outputs for one model and one set of decoding settings."""

    def __init__(self, path: str | Path, model: str, settings: str):
        super().__init__(path)
        self.model, self.settings = model, settings

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


class VectorCache(_CacheFile):
    """Cached sentence vectors of one sentence encoder."""

    def __init__(self, path: str | Path, model: str):
        super().__init__(path)
        self.model = model
        with self._errors("write to"):
            if not self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'vectors'").fetchone():
                self.db.execute(_VECTORS)  # caches made before the aligner used vectors

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        found = {}
        query = "SELECT vector FROM vectors WHERE model=? AND text=?"
        with self._errors("read"):
            for text in texts:
                row = self.db.execute(query, (self.model, text)).fetchone()
                if row:
                    found[text] = np.frombuffer(row[0], dtype=np.float32)
        return found

    def put(self, vectors: Mapping[str, np.ndarray]) -> None:
        rows = [(self.model, text, np.asarray(v, dtype=np.float32).tobytes()) for text, v in vectors.items()]
        with self._errors("write to"), store.transaction(self.db, f"the translation cache {self.path}") as cursor:
            cursor.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)


class NoCache:
    """``--no-cache``: remembers nothing."""

    def get(self, sources: Iterable[str]) -> dict[str, Output]:
        return {}

    def put(self, outputs: Mapping[str, Output]) -> None:
        pass
