"""The whole pipeline for a batch of documents: read → segment → translate → align → write."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .align import align, group_units
from .data import Document, Pair, Provenance
from .errors import ZhenError
from .po import read_existing, write_po
from .segment import segment
from .textio import read_document
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

    Every input is read and decoded, and every PO already in ``out_dir``
    checked, before the model is loaded (``load_translator()``), so a bad
    file fails fast and nothing is written.
    Outputs are written atomically, after the document is fully translated.
    """
    out_dir = Path(out_dir)
    documents = [read_document(path, encoding) for path in inputs]
    _check_distinct_names(documents, out_dir)
    for document in documents:  # a reviewed PO we could not merge stops us here
        read_existing(output_paths(document, out_dir).po)
    out_dir.mkdir(parents=True, exist_ok=True)
    translator = load_translator()
    written = []
    for document in documents:
        pairs = translate_document(document, translator, progress)
        written.append(write_outputs(document, pairs, out_dir, translator.name))
    return written


def translate_document(document: Document, translator: Translator, progress: bool | None = None) -> list[Pair]:
    sentences = segment(document.text, "zh")
    translations = translator.translate([s.text for s in sentences], progress)
    return align(sentences, translations)


def write_outputs(document: Document, pairs: Sequence[Pair], out_dir: Path, model: str) -> Outputs:
    units = group_units(pairs, document.path)
    provenance = Provenance(model=model, created=creation_time())
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
        if not epoch.isdigit():
            raise ZhenError(f"SOURCE_DATE_EPOCH must be seconds since 1970, not {epoch!r}")
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def _check_distinct_names(documents: Sequence[Document], out_dir: Path) -> None:
    seen: dict[Path, str] = {}
    for document in documents:
        target = output_paths(document, out_dir).tmx
        if target in seen:
            raise ZhenError(f"{seen[target]} and {document.path} would both write {target}; rename one")
        seen[target] = document.path
