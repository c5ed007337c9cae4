"""The project's translation memory: every translation a person approved, in SQLite.

Approved translations come from reviewed PO files (an entry with a
translation and no ``fuzzy`` flag; ``run`` collects them from the PO files it
merges, ``import-po`` from any) and from TMX files of other tools
(``import-tmx``). ``run`` gives a sentence found here its approved
translation instead of sending it to the model, in every document.

Sentences are matched exactly, up to full-width and half-width forms and
spacing (``，`` and ``,``, ``２０２６`` and ``2026``, runs of spaces): what a
CAT tool calls a 100% match. A sentence approved with different
translations keeps them all; the latest approval is the one used and
exported. Approving a translation the memory already holds (as a PO does
each run for entries the memory filled in) changes nothing, so a stale copy
in one file never outranks a later correction in another.

The memory also remembers each machine draft it saw written into a PO file,
so that a later run can tell a draft nobody touched (refreshed when the
model's output changes) from one a reviewer edited but has not approved yet
(kept).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from . import store
from .data import Approval, NearMatch
from .dates import STORED, believable, format_utc, now, parse
from .similar import SimilarFinder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approved (  -- with a rowid: the order learned breaks ties of date
    key TEXT NOT NULL,         -- the source sentence, normalised for matching
    source TEXT NOT NULL,      -- as it was approved
    target TEXT NOT NULL,
    origin TEXT NOT NULL,      -- the file it was first approved in or imported from
    translator TEXT NOT NULL,  -- who approved it, when known
    approved TEXT NOT NULL,    -- when: ISO 8601, UTC (sorts as text)
    context_pre TEXT NOT NULL DEFAULT '',   -- the source sentence before it, where it was approved
    context_post TEXT NOT NULL DEFAULT '',  -- and the one after
    PRIMARY KEY (key, target)
);
CREATE TABLE IF NOT EXISTS drafts (
    key TEXT NOT NULL,
    target TEXT NOT NULL,      -- a machine translation written into a PO file as fuzzy
    PRIMARY KEY (key, target)
) WITHOUT ROWID;
"""

_COLUMNS = "source, target, origin, translator, approved, context_pre, context_post"
# Newest first; a date later than now (a wrong clock, a hand-edited file)
# counts as now, so it cannot outrank every later correction forever.
_NEWEST_FIRST = "ORDER BY min(approved, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) DESC, rowid DESC"  # dates.STORED
# Only full-width and half-width forms fold together: NFKC would also make
# "10²" and "102", or "①" and "1", the same sentence.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def match_key(source: str) -> str:
    """What two sentences must share to be the same sentence."""
    return " ".join(unicodedata.normalize("NFC", source).translate(_WIDTH).split())


class Memory(Protocol):
    """What the pipeline asks of a translation memory (TranslationMemory, or NoMemory for --no-tm)."""

    @property
    def path(self) -> Path | None: ...

    def lookup(
        self, sources: Iterable[str], contexts: Mapping[str, tuple[str, str]] | None = None
    ) -> dict[str, Approval]: ...

    def find(self, source: str, target: str) -> Approval | None: ...

    def near(self, sources: Iterable[str], threshold: float) -> dict[str, NearMatch]: ...

    def learn(self, approvals: Iterable[Approval]) -> int: ...

    def remember_drafts(self, drafts: Iterable[tuple[str, str]]) -> None: ...

    def is_machine_draft(self, source: str, target: str) -> bool: ...


class TranslationMemory:
    def __init__(self, path: str | Path):
        """Open the memory at ``path``, creating it if there is none (the
        command line decides where that is allowed)."""
        self.path = Path(path)
        self._indexed: tuple[list[str], SimilarFinder] | None = None  # for near(), built on first use
        with self._errors("open"):
            self.db = store.connect(self.path, store.MEMORY, _SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(approved)")}
            for column in ("context_pre", "context_post"):  # a memory from before zhen kept context
                if column not in columns:
                    self.db.execute(f"ALTER TABLE approved ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")

    def lookup(
        self, sources: Iterable[str], contexts: Mapping[str, tuple[str, str]] | None = None
    ) -> dict[str, Approval]:
        """The approved translation of each of ``sources`` that has one: the
        latest approved in the same context (``contexts``: the sentences before
        and after each source, what CAT tools call a 101% match), else the latest."""
        found = {}
        query = f"SELECT {_COLUMNS} FROM approved WHERE key = ? {_NEWEST_FIRST}"
        contexts = contexts or {}
        with self._errors("read"):
            for source in dict.fromkeys(sources):
                rows = self.db.execute(query, (match_key(source),)).fetchall()
                if rows:
                    around = tuple(map(match_key, contexts.get(source, ("", ""))))
                    same = [row for row in rows if around != ("", "") and tuple(map(match_key, row[-2:])) == around]
                    found[source] = _approval(*(same or rows)[0])
        return found

    def find(self, source: str, target: str) -> Approval | None:
        """The memory's record of approving ``target`` for ``source``, if any."""
        query = f"SELECT {_COLUMNS} FROM approved WHERE key = ? AND target = ?"
        with self._errors("read"):
            row = self.db.execute(query, (match_key(source), target)).fetchone()
        return _approval(*row) if row else None

    def near(self, sources: Iterable[str], threshold: float) -> dict[str, NearMatch]:
        """For each of ``sources``, the approved translation of the most similar
        sentence the memory holds, if at least ``threshold`` alike (0 to 1).

        The memory's sentences are indexed by character pairs once, until
        it learns new ones (:class:`~pipeline.similar.SimilarFinder`): a
        million approved units answer ten thousand sentences in well under a
        minute (``make bench-review``).
        """
        sources = list(dict.fromkeys(sources))
        if not sources:
            return {}
        keys, finder = self._index()
        best = {}
        for source in sources:
            score, number = finder.most_similar(match_key(source))
            if number >= 0 and score >= threshold:
                best[source] = (keys[number], round(score, 3))
        approvals = self.lookup(key for key, _ in best.values())  # a key is its own match key
        return {source: NearMatch(approvals[key], score) for source, (key, score) in best.items()}

    def _index(self) -> tuple[list[str], SimilarFinder]:
        if self._indexed is None:
            with self._errors("read"):
                keys = [key for (key,) in self.db.execute("SELECT DISTINCT key FROM approved")]
            self._indexed = keys, SimilarFinder(keys)
        return self._indexed

    def learn(self, approvals: Iterable[Approval]) -> int:
        """Store approved translations, all or none; return how many were new
        (a translation already approved for its sentence is not).

        ``approvals`` may be a stream (a TMX being read): it is consumed
        inside the one transaction, so memory stays bounded, and an error
        while reading it stores nothing.
        """
        rows = (
            (
                match_key(a.source),
                a.source,
                a.target,
                a.origin,
                a.translator,
                format_utc(believable(a.approved), STORED),
                *a.context,
            )
            for a in approvals
            if match_key(a.source) and a.target.strip()
        )
        # A translation the memory holds without its context (learned from a
        # file that had none) gets the one it is now approved in.
        insert = f"""INSERT INTO approved (key, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (key, target) DO UPDATE SET context_pre = excluded.context_pre,
            context_post = excluded.context_post
            WHERE context_pre = '' AND context_post = '' AND excluded.context_pre || excluded.context_post != ''"""
        before = self._approvals()
        with self._errors("write to"), store.transaction(self.db, f"the translation memory {self.path}") as cursor:
            cursor.executemany(insert, rows)
        new = self._approvals() - before
        if new:
            self._indexed = None
        return new

    def _approvals(self) -> int:
        """How many translations are approved (for a sentence, each different one counts)."""
        with self._errors("read"):
            return self.db.execute("SELECT count(*) FROM approved").fetchone()[0]

    def remember_drafts(self, drafts: Iterable[tuple[str, str]]) -> None:
        """Record ``(source, machine translation)`` pairs about to be written as fuzzy."""
        rows = [(match_key(source), target) for source, target in drafts]
        with self._errors("write to"), store.transaction(self.db, f"the translation memory {self.path}") as cursor:
            cursor.executemany("INSERT OR IGNORE INTO drafts VALUES (?, ?)", rows)

    def is_machine_draft(self, source: str, target: str) -> bool:
        """Whether zhen wrote ``target`` for ``source`` as a draft (so no person typed it)."""
        with self._errors("read"):
            query = "SELECT 1 FROM drafts WHERE key = ? AND target = ?"
            return self.db.execute(query, (match_key(source), target)).fetchone() is not None

    def approved(self) -> list[Approval]:
        """Every sentence's latest approved translation, in source order."""
        query = (
            f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY key {_NEWEST_FIRST}) AS n "
            "FROM approved) WHERE n = 1 ORDER BY key"
        )
        with self._errors("read"):
            return [_approval(*row) for row in self.db.execute(query)]

    def __len__(self) -> int:
        """How many sentences have an approved translation."""
        with self._errors("read"):
            return self.db.execute("SELECT count(DISTINCT key) FROM approved").fetchone()[0]

    def _errors(self, doing: str):
        return store.errors_as(f"cannot {doing} the translation memory {self.path}")


class NoMemory:
    """``--no-tm``: remembers nothing, and so cannot tell a draft from an edit."""

    path: Path | None = None

    def lookup(
        self, sources: Iterable[str], contexts: Mapping[str, tuple[str, str]] | None = None
    ) -> dict[str, Approval]:
        return {}

    def learn(self, approvals: Iterable[Approval]) -> int:
        return 0

    def find(self, source: str, target: str) -> Approval | None:
        return None

    def near(self, sources: Iterable[str], threshold: float) -> dict[str, NearMatch]:
        return {}

    def remember_drafts(self, drafts: Iterable[tuple[str, str]]) -> None:
        pass

    def is_machine_draft(self, source: str, target: str) -> bool:
        return False


NO_MEMORY = NoMemory()


def _approval(
    source: str, target: str, origin: str, translator: str, approved: str, before: str = "", after: str = ""
) -> Approval:
    moment = parse(approved, STORED) or now()
    return Approval(source, target, origin, believable(moment), translator, (before, after))
