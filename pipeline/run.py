"""The whole pipeline for a batch of documents: read → segment → translate → align → write."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .score import group_units, pair_and_score
from .data import Document, Pair, Provenance
from .errors import ZhenError
from .po import read_existing, write_po
from .segment import segment
from .textio import check_writable, read_document
from .tmx import write_tmx
from .translate import Translator

log = logging.getLogger(__name__)

# Pairs under this confidence are counted as "to check first" in the summary.
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Outputs:
    tmx: Path
    po: Path


def output_paths(document: Document, out_dir: Path) -> Outputs:
    return Outputs(out_dir / f"{document.name}.tmx", out_dir / f"{document.name}.po")


def run(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    load_translator: Callable[[], Translator],
    encoding: str | None = None,
    progress: bool | None = None,
) -> list[Outputs]:
    """Translate each input document into ``out_dir/<name>.tmx`` and ``.po``.

    Everything that can fail without the model is checked before the model
    is loaded (``load_translator()``): every input is read and decoded, the
    output directory and files are writable, and every PO already there can
    be merged. So a bad file fails fast, before an hour of translation, and
    nothing is written. Outputs are written atomically, each document's once
    it is fully translated.
    """
    out_dir = Path(out_dir)
    created = creation_time()
    documents = [read_document(path, encoding) for path in inputs]
    _check_distinct_names(documents, out_dir)
    _make_writable_dir(out_dir)
    for document in documents:
        outputs = output_paths(document, out_dir)
        check_writable(outputs.tmx)
        check_writable(outputs.po)
        read_existing(outputs.po)
    translator = load_translator()
    provenance = Provenance(model=translator.name, created=created)
    written = []
    for document in documents:
        pairs = translate_document(document, translator, progress)
        written.append(write_outputs(document, pairs, out_dir, provenance))
    return written


def translate_document(document: Document, translator: Translator, progress: bool | None = None) -> list[Pair]:
    sentences = segment(document.text, "zh")
    translations = translator.translate([s.text for s in sentences], progress)
    return pair_and_score(sentences, translations)


def write_outputs(document: Document, pairs: Sequence[Pair], out_dir: Path, provenance: Provenance) -> Outputs:
    units = group_units(pairs, document.path)
    outputs = output_paths(document, out_dir)
    # The PO first: if a reviewed PO there cannot be read, nothing is written.
    write_po(units, outputs.po, provenance, document.path)
    write_tmx(units, outputs.tmx, provenance)
    low = sum(unit.confidence < LOW_CONFIDENCE for unit in units)
    if not pairs:
        log.warning("%s: no text found; wrote empty outputs", document.path)
    decoded = "" if document.encoding.startswith("utf-8") else f" (decoded as {document.encoding})"
    log.info(
        "%s%s: %d sentences, %d unique (%d of low confidence) -> %s, %s",
        document.path, decoded, len(pairs), len(units), low, outputs.tmx, outputs.po,
    )
    return outputs


def creation_time() -> datetime:
    """Now, or ``$SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ZhenError(f"SOURCE_DATE_EPOCH must be seconds since 1970, not {epoch!r}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


def _make_writable_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except (FileExistsError, NotADirectoryError):
        raise ZhenError(f"output directory {out_dir} is a file, not a directory") from None
    except OSError as err:
        raise ZhenError(f"cannot write in {out_dir}: {err.strerror or err}") from None


def _check_distinct_names(documents: Sequence[Document], out_dir: Path) -> None:
    seen: dict[Path, str] = {}
    for document in documents:
        target = output_paths(document, out_dir).tmx
        if target in seen:
            raise ZhenError(f"{seen[target]} and {document.path} would both write {target}; rename one")
        seen[target] = document.path
