"""Aligning a document with its existing human translation, end to end:
read → segment → bridge (a machine translation of the source, or none) →
align → write Vecalign beads, TMX, PO or TSV.

The aligner itself is :mod:`pipeline.align`; this module is the workflow
around it, as :mod:`pipeline.run` is for machine translation.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .align import Encoder, align_sentences
from .cache import VectorCache
from .data import Bead, Provenance, Sentence, Unit
from .encoder import ADVICE as ENCODER_ADVICE
from .encoder import SentenceEncoder
from .errors import ZhenError
from .glossary import NO_GLOSSARY, Glossary
from .model import ModelUnavailable, fingerprint, reachable
from .po import write_po
from .score import terms_missing, with_terms
from .segment import segment, segment_lines
from .settings import creation_time
from .textio import atomic_write, read_document
from .tmx import write_tmx
from .vecalign import format_beads

log = logging.getLogger(__name__)

FORMATS = ("vecalign", "tmx", "po", "tsv")
REVIEW_BELOW = 0.8  # beads under this confidence are fuzzy in PO, for review

# Machine-translates source sentences: the bridge between the languages.
Translate = Callable[[list[str]], list[str]]


def align_documents(
    source_path: str,
    target_path: str,
    output: str | None = None,
    fmt: str | None = None,
    *,
    presegmented: bool = False,
    source_mt: str | None = None,
    translate: Translate | None = None,
    encoding: str | None = None,
    glossary: Glossary = NO_GLOSSARY,
    similarity_model: str | None = None,
    threads: int = 0,
    cache: str | Path | None = None,
) -> list[Bead]:
    """Align ``source_path`` (Chinese) with ``target_path`` (its English
    translation) and write the result to ``output`` in ``fmt`` (default: from
    the extension), or print TSV without ``output``. The bridge is
    ``source_mt`` (one line per source sentence), else ``translate``'s output,
    else none (dictionary glosses). With a bridge, ``similarity_model`` (an
    English sentence encoder) adds how alike the bridge and the target mean;
    if it cannot be loaded, the alignment goes on without it. Its vectors are
    kept in the translation cache ``cache``, if one is given."""
    fmt = fmt or (format_from_extension(output) if output else "tsv")
    if fmt == "tsv" and output:
        raise ZhenError("TSV is printed; give --format vecalign, tmx or po with -o")
    if fmt != "tsv" and not output:
        raise ZhenError(f"--format {fmt} needs -o OUT")
    source = read_document(source_path, encoding)
    target = read_document(target_path, encoding)
    if presegmented:
        sentences, targets = segment_lines(source.text), segment_lines(target.text)
    else:
        sentences, targets = segment(source.text, "zh"), segment(target.text, "en")
    bridge = _bridge(sentences, source_mt, translate, presegmented, source_path, encoding)
    encoder = None
    if bridge is not None and similarity_model:
        encoder = load_encoder(similarity_model, threads, cache, [*bridge, *(t.text for t in targets)])
    beads = align_sentences([s.text for s in sentences], [t.text for t in targets], bridge, encoder=encoder)
    if output is None:  # TSV on standard output, as checked above
        _print_tsv(aligned_units(beads, sentences, targets, source.path, glossary))
    elif fmt == "vecalign":
        atomic_write(output, format_beads(beads).encode("utf-8"))
    else:
        units = aligned_units(beads, sentences, targets, source.path, glossary)
        provenance = Provenance(model=f"existing translation {target.path}", created=creation_time())
        if fmt == "tmx":
            write_tmx([u for u in units if u.target], output, provenance)
        else:
            write_po(units, output, provenance, source.path)
    return beads


def load_encoder(
    name: str, threads: int = 0, cache: str | Path | None = None, sentences: Sequence[str] = ()
) -> Encoder | None:
    """The sentence encoder ``name``, its vectors cached in ``cache`` (when
    the cache has all of ``sentences``, the model is not even loaded), or
    None with a one-line warning: the aligner does well without it, so a
    missing model never stops the work."""
    try:
        if cache and sentences:
            found = _cached_vectors(Path(cache), fingerprint(reachable(name, ENCODER_ADVICE)), sentences)
            if found is not None:
                return KnownVectors(found)
        encoder = SentenceEncoder(name, threads)
    except ZhenError as err:
        log.warning("aligning without a similarity model: %s", err)
        return None
    return CachedEncoder(encoder, Path(cache)) if cache else encoder


def _cached_vectors(cache: Path, model: str, sentences: Sequence[str]) -> dict[str, np.ndarray] | None:
    vectors = VectorCache(cache, model)
    try:
        found = vectors.get(dict.fromkeys(sentences))
    finally:
        vectors.db.close()
    return found if len(found) == len(set(sentences)) else None


class KnownVectors:
    """The vectors of a given set of sentences (all found in the cache)."""

    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return np.stack([self.vectors[s] for s in sentences])


class CachedEncoder:
    """A sentence encoder that embeds only the sentences the translation cache lacks."""

    def __init__(self, encoder: SentenceEncoder, cache: Path):
        self.encoder, self.cache = encoder, cache

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        # Opened here: the aligner embeds on a thread of its own, and SQLite
        # connections stay on the thread that opened them.
        cache = VectorCache(self.cache, self.encoder.fingerprint)
        try:
            distinct = list(dict.fromkeys(sentences))
            found = cache.get(distinct)
            missing = [s for s in distinct if s not in found]
            if missing:
                computed = dict(zip(missing, self.encoder.embed(missing), strict=True))
                cache.put(computed)
                found.update(computed)
        finally:
            cache.db.close()
        if not sentences:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.stack([found[s] for s in sentences])


def format_from_extension(output: str) -> str:
    return {".tmx": "tmx", ".po": "po"}.get(Path(output).suffix.lower(), "vecalign")


def _bridge(
    sentences: list[Sentence],
    source_mt: str | None,
    translate: Translate | None,
    presegmented: bool,
    source_path: str,
    encoding: str | None,
) -> list[str] | None:
    """The machine translation of each source sentence, if there is one."""
    if source_mt is not None:
        return _read_bridge(source_mt, sentences, presegmented, source_path, encoding)
    if translate is None:
        return None
    try:
        return translate([s.text for s in sentences])
    except ModelUnavailable as err:
        raise ModelUnavailable(
            err.problem,
            "align without a model: --no-mt (dictionary glosses), or give "
            f"a translation you have with --source-mt FILE; {err.advice}",
        ) from None


def _read_bridge(
    path: str, sentences: list[Sentence], presegmented: bool, source_path: str, encoding: str | None
) -> list[str]:
    lines = read_document(path, encoding).text.splitlines()
    if presegmented:  # same line structure as SOURCE: keep the lines of its sentences
        lines = [lines[s.line - 1] if s.line <= len(lines) else "" for s in sentences]
    else:
        lines = [line for line in lines if line.strip()]
    if len(lines) != len(sentences):
        raise ZhenError(
            f"{path} has {len(lines)} lines but {source_path} has {len(sentences)} sentences; "
            "give one translation per source sentence (see `zhen segment`)"
        )
    return lines


def aligned_units(
    beads: Sequence[Bead],
    source: Sequence[Sentence],
    target: Sequence[Sentence],
    path: str,
    glossary: Glossary = NO_GLOSSARY,
) -> list[Unit]:
    """The beads as translation units, the sentences of each side joined
    (Chinese without spaces, English with). A source text that occurs twice
    is one unit (msgfmt rejects duplicate msgids); the first alignment wins.
    Target sentences with no source have no unit."""
    units: dict[str, Unit] = {}
    for bead in beads:
        if not bead.source:
            continue
        text = "".join(source[i].text for i in bead.source)
        translation = " ".join(target[j].text for j in bead.target)
        location = (path, source[bead.source[0]].line)
        if text in units:
            first = units[text]
            units[text] = replace(first, locations=(*first.locations, location), beads=(*first.beads, bead))
            continue
        warnings = _warnings(bead) + terms_missing(text, translation, glossary)
        units[text] = Unit(text, translation, bead.confidence, warnings, (location,), aligned=True, beads=(bead,))
    return with_terms(list(units.values()), glossary)


def _warnings(bead: Bead) -> tuple[str, ...]:
    if not bead.target:
        return ("no counterpart found in the translation",)
    if bead.confidence < REVIEW_BELOW:
        return (f"uncertain alignment ({len(bead.source)}:{len(bead.target)} sentences)",)
    return ()


def _print_tsv(units: Sequence[Unit]) -> None:
    for unit in units:
        cells = (f"{unit.confidence:.3f}", unit.source, unit.target)
        sys.stdout.write("\t".join(cell.replace("\t", " ") for cell in cells) + "\n")
