"""The whole pipeline for a batch of documents: read → segment → translate → score → write.

Translate means: the translation memory's approved translation where it has
one, the model's otherwise.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polib

from .data import Approval, Document, NearMatch, Pair, Provenance, Sentence, Translation, Unit
from .errors import ZhenError
from .formats import Source, Translated, read_source, translate_part, translated_name
from .formats.catalog import own_comments
from .glossary import NO_GLOSSARY, Glossary
from .han import HAN
from .memory import NO_MEMORY, Memory, match_key
from .po import approved_entries, edited_drafts, entry_comment, machine_drafts, read_existing, write_po
from .score import LOW_CONFIDENCE, group_units, human_checks, pair_and_score, sentence_contexts, with_terms
from .segment import segment_part
from .settings import creation_time
from .textio import atomic_write, check_writable, clean_segment, printable, read_bytes, remove_stale_temporaries
from .tmx import write_tmx
from .translate import Translator

log = logging.getLogger(__name__)

# Documents with more sentences than this took a while to segment: say so.
LONG_DOCUMENT = 10_000


@dataclass(frozen=True)
class Outputs:
    tmx: Path
    po: Path  # the review PO (for a PO input, the translated catalog itself)
    document: Path  # the translated document, in its own format


def output_paths(document: Document, out_dir: Path) -> Outputs:
    po = out_dir / f"{document.name}.po"
    translated = po if document.kind == "po" else out_dir / translated_name(Path(document.path).name)
    return Outputs(out_dir / f"{document.name}.tmx", po, translated)


@dataclass(frozen=True)
class FuzzyMatches:
    """What to do with a sentence the memory has only a similar one of."""

    threshold: float = 0.75  # how alike, 0 to 1; above 1: never look
    # Offered beside the model's draft, in the comment; or the draft itself,
    # fuzzy, the model not asked (msgmerge's way with a previous translation).
    instead: bool = False


def run(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    load_translator: Callable[[], Translator],
    memory: Memory = NO_MEMORY,
    encoding: str | None = None,
    progress: bool | None = None,
    glossary: Glossary = NO_GLOSSARY,
    fuzzy: FuzzyMatches = FuzzyMatches(),
    translate_first: Callable[[Translator, list[list[str]]], None] | None = None,
) -> list[Outputs]:
    """Translate each input document into ``out_dir/<name>.tmx`` and ``.po``.

    Everything that can fail without the model is checked before the model
    is loaded (``load_translator()``): every input is read and decoded, the
    output directory and files are writable, and every PO already there can
    be merged. So a bad file fails fast, before an hour of translation, and
    nothing is written. The translations reviewers approved in those PO
    files go into the translation memory first; a sentence the memory knows
    is not sent to the model, and when it knows them all the model is not
    even loaded. Outputs are written atomically, each document's once it is
    fully translated.

    Documents are then planned, translated and written a window at a time
    (:data:`WINDOW_BYTES` of input), so a corpus of any size is never held
    whole. ``translate_first`` (a cluster: :mod:`pipeline.cluster`) is
    given each window's sentences for the model, document by document,
    before they are translated here; it stores its translations in the
    translator's cache, where the translator then finds them.
    """
    out_dir = Path(out_dir)
    created = creation_time()
    inputs_read = _read_inputs(inputs, encoding, out_dir)
    _check_distinct_names(inputs_read)
    _make_writable_dir(out_dir)
    reviews = {}
    for found in inputs_read:
        for path in {found.outputs.tmx, found.outputs.po, found.outputs.document}:
            check_writable(path)
            remove_stale_temporaries(path)
        reviews[found.document_path] = Review.of(read_existing(found.outputs.po), found.outputs.po, memory)
    _learn(memory, [approval for review in reviews.values() for approval in review.approved])
    translator: Translator | None = None
    written = []
    for sources in _windows(inputs_read, encoding):
        plans = [plan_document(source, memory, reviews[source.document.path]) for source in sources]
        plans = with_fuzzy_matches(plans, memory, fuzzy)
        _announce_long(plans)
        wanted = any(plan.to_translate for plan in plans)
        if wanted and translator is None:
            translator = load_translator()
        if wanted and translator is not None and translate_first is not None:
            translate_first(translator, [plan.to_translate for plan in plans])
        provenance = Provenance(model=translator.name if translator else "", created=created)
        for document_plan in plans:
            before = Counter(translator.stats) if translator else Counter()
            pairs = translate_document(document_plan, translator, progress, glossary)
            stats = (Counter(translator.stats) - before) if translator else Counter()
            written.append(write_outputs(document_plan.source, pairs, out_dir, provenance, memory, stats, glossary))
    return written


# Input bytes planned, translated and written together: what the run holds
# at once (a document in memory takes some 25 times its size on disk).
WINDOW_BYTES = 16 << 20


@dataclass(frozen=True)
class _Input:
    """An input that was read and found good; held only if it is in the first window."""

    path: str | Path
    document_path: str  # as the document names itself (stdin: "stdin")
    outputs: Outputs
    size: int
    source: Source | None


def _read_inputs(inputs: Sequence[str | Path], encoding: str | None, out_dir: Path) -> list[_Input]:
    """Every input read and decoded, so that a bad one fails before any work;
    those of the first window kept, so a run of small documents reads each once."""
    found, held = [], 0
    for path in inputs:
        data = read_bytes(path)
        source = read_source(path, data, encoding)
        keep = str(path) == "-" or held + len(data) <= WINDOW_BYTES  # stdin cannot be read again
        held += len(data) if keep else 0
        document = source.document
        found.append(_Input(path, document.path, output_paths(document, out_dir), len(data), source if keep else None))
    return found


def _windows(inputs: Sequence[_Input], encoding: str | None) -> Iterator[list[Source]]:
    """The inputs' sources, read again where not held, a window at a time."""
    window: list[Source] = []
    size = 0
    for found in inputs:
        window.append(found.source or read_source(found.path, read_bytes(found.path), encoding))
        size += found.size
        if size >= WINDOW_BYTES:
            yield window
            window, size = [], 0
    if window:
        yield window


@dataclass(frozen=True)
class Review:
    """What a reviewer did in a document's existing PO file."""

    approved: list[Approval]  # the entries they approved
    in_progress: set[str]  # sources of fuzzy entries they edited or un-approved

    @classmethod
    def of(cls, po: polib.POFile | None, path: Path, memory: Memory) -> Review:
        if po is None:
            return cls([], set())
        return cls(approved_entries(po, path), edited_drafts(po, memory.is_machine_draft))


@dataclass(frozen=True)
class Plan:
    """A segmented document, and the approved translations it gets instead of the model's."""

    source: Source  # the document, and how to write it back translated
    sentences: list[Sentence]
    approvals: dict[str, Approval]  # by sentence text
    to_translate: list[str]  # the distinct sentences that need the model
    near: dict[str, NearMatch] = field(default_factory=dict)  # fuzzy matches, by sentence text

    @property
    def document(self) -> Document:
        return self.source.document


def plan_document(source: Source, memory: Memory, review: Review = Review([], set())) -> Plan:
    """Segment ``document`` and look its sentences up in the memory. The
    document's own PO comes first: its approved entries stay (dated and
    attributed as the memory first recorded them), and an entry its reviewer
    is still working on is not overruled by an approval from elsewhere."""
    sentences = [s for number, part in enumerate(source.document.parts) for s in segment_part(part, number)]
    distinct = list(dict.fromkeys(s.text for s in sentences))
    busy = {match_key(source) for source in review.in_progress}
    contexts = sentence_contexts([s.text for s in sentences])
    approvals = {text: a for text, a in memory.lookup(distinct, contexts).items() if match_key(text) not in busy}
    own = {match_key(a.source): memory.find(a.source, a.target) or a for a in review.approved}
    approvals.update((text, own[match_key(text)]) for text in distinct if match_key(text) in own)
    return Plan(source, sentences, approvals, [text for text in distinct if text not in approvals])


def with_fuzzy_matches(plans: Sequence[Plan], memory: Memory, fuzzy: FuzzyMatches) -> list[Plan]:
    """The plans with the memory's fuzzy matches of the sentences it has no
    approval of; looked up once for all documents, the memory indexed once."""
    wanted = [text for plan in plans for text in plan.to_translate if HAN.search(text)]
    near = memory.near(wanted, fuzzy.threshold) if wanted and fuzzy.threshold <= 1 else {}
    if not near:
        return list(plans)
    return [
        replace(
            plan,
            near={text: near[text] for text in plan.to_translate if text in near},
            to_translate=[t for t in plan.to_translate if t not in near] if fuzzy.instead else plan.to_translate,
        )
        for plan in plans
    ]


def translate_document(
    document_plan: Plan, translator: Translator | None, progress: bool | None = None, glossary: Glossary = NO_GLOSSARY
) -> list[Pair]:
    """Each sentence's approved translation, else the model's, scored."""
    done = {text: _approved(a) for text, a in document_plan.approvals.items()}
    done |= {text: Translation(near.approval.target, near=near) for text, near in document_plan.near.items()}
    if document_plan.to_translate:
        if translator is None:
            raise ValueError(f"{document_plan.document.path} has sentences for the model, but no translator was loaded")
        translated = translator.translate(document_plan.to_translate, progress)
        for text, translation in zip(document_plan.to_translate, translated, strict=True):
            near = document_plan.near.get(text)  # offered beside the model's translation
            done[text] = replace(translation, near=near) if near else translation
    return pair_and_score(document_plan.sentences, [done[s.text] for s in document_plan.sentences], glossary)


def _announce_long(plans: Sequence[Plan]) -> None:
    """A sign of life before the model starts, for documents that took a while to segment."""
    for long in (p for p in plans if len(p.sentences) > LONG_DOCUMENT):
        log.info(
            "%s: %d sentences, %d distinct: %d approved in the translation memory, %d for the model",
            long.document.path,
            len(long.sentences),
            len(long.to_translate) + len(long.approvals),
            len(long.approvals),
            len(long.to_translate),
        )


def _approved(approval: Approval) -> Translation:
    return Translation(approval.target, approval=approval)


def _learn(memory: Memory, approvals: list[Approval]) -> None:
    new = memory.learn(approvals)
    if new:
        log.info("translation memory %s: %d new approved translations from reviewed PO files", memory.path, new)


def write_outputs(
    source: Source,
    pairs: Sequence[Pair],
    out_dir: Path,
    provenance: Provenance,
    memory: Memory = NO_MEMORY,
    stats: Counter | None = None,
    glossary: Glossary = NO_GLOSSARY,
) -> Outputs:
    """The PO, then the TMX and the translated document, both as the merged PO has it."""
    document = source.document
    units = with_terms(group_units(pairs, document.path), glossary)
    outputs = output_paths(document, out_dir)
    # The PO first: if a reviewed PO there cannot be read, nothing is written.
    # An approval saved while the model was translating is in the merged PO:
    # the memory learns it, and the TMX says it too.
    memory.remember_drafts(machine_drafts(units))
    catalog = _translated_catalog(source, units, provenance, outputs.po) if document.kind == "po" else None
    own = own_comments(document) if catalog is not None else None
    po = write_po(units, outputs.po, provenance, document.path, memory.is_machine_draft, catalog, own, glossary)
    approvals = _in_context(approved_entries(po, outputs.po, contexts=catalog is not None), units)
    _learn(memory, approvals)
    if catalog is None:  # a catalog's translation is the PO just written
        atomic_write(outputs.document, _translated_document(source, units, approvals))
    units = _as_in_po(units, po, approvals, memory, glossary)
    write_tmx(units, outputs.tmx, provenance)
    if not pairs:
        log.warning("%s: no text found; wrote empty outputs", document.path)
    written = ", ".join(printable(str(path)) for path in dict.fromkeys((outputs.tmx, outputs.po, outputs.document)))
    log.info("%s -> %s", _summary(document, pairs, units, stats or Counter()), written)
    return outputs


def _translated_catalog(source: Source, units: Sequence[Unit], provenance: Provenance, path: Path) -> polib.POFile:
    """A gettext catalog translated: each entry's units, approved where the
    memory had a person's translation, with zhen's comment."""
    by_source = {match_key(unit.source): unit for unit in units}
    translated = []
    for part in source.document.parts:
        unit = by_source.get(match_key(part.text.strip()))
        if unit is None:  # nothing to translate in it
            translated.append(Translated(part.text, approved=True))
            continue
        text = translate_part(part.text, _always(unit.target), whole=True)
        translated.append(Translated(text, unit.approval is not None, entry_comment(unit, provenance, path)))
    return polib.pofile(source.render(translated).decode("utf-8"), wrapwidth=0)


def _always(translation: str) -> Callable[[str], str]:
    """A part's one translation, whatever its sentence (a catalog entry is translated whole)."""
    return lambda _: translation


def _translated_document(source: Source, units: Sequence[Unit], approvals: Sequence[Approval]) -> bytes:
    """The document in its own format, each sentence as the PO has it: a
    reviewer's approved translation, else the machine's draft; a sentence
    with no Chinese exactly as it was."""
    approved = {match_key(approval.source): approval.target for approval in approvals}
    drafts = {match_key(unit.source): unit.target for unit in units}
    used_drafts: list[bool] = []

    def translation(sentence: str) -> str:
        if not HAN.search(sentence):
            return sentence
        key = match_key(sentence)
        used_drafts.append(key not in approved)
        return approved.get(key, drafts.get(key, sentence))

    translated = []
    for part in source.document.parts:
        used_drafts.clear()
        text = translate_part(part.text, translation, part.whole)
        translated.append(Translated(text, approved=not any(used_drafts)))
    return source.render(translated)


def _summary(document: Document, pairs: Sequence[Pair], units: Sequence[Unit], stats: Counter) -> str:
    """The document's one line in the log: what was found, and where its translations came from."""
    decoded = "" if document.encoding.lower().startswith("utf-8") else f" (decoded as {document.encoding})"
    sources = [
        f"{count} {what}"
        for count, what in (
            (sum(unit.approval is not None for unit in units), "approved"),
            (sum(unit.copied for unit in units), "copied (no Chinese)"),
            (
                sum(unit.fuzzy_matched for unit in units),
                "fuzzy matches from the translation memory",
            ),
            (stats["translated"], "translated by the model"),
            (stats["cached"], "from the translation cache"),
            (stats["retried"], "decoded again after a loop"),
            (sum(unit.confidence < LOW_CONFIDENCE for unit in units), "of low confidence"),
        )
        if count
    ]
    found = ", ".join(sources) or "nothing to translate"
    return f"{document.path}{decoded}: {len(pairs)} sentences, {len(units)} unique ({found})"


def _in_context(approvals: list[Approval], units: Sequence[Unit]) -> list[Approval]:
    """The approvals of a document's PO with the context of their sentence in the document."""
    contexts = {match_key(unit.source): unit.context for unit in units}
    return [replace(a, context=contexts.get(match_key(a.source), a.context)) for a in approvals]


def _as_in_po(
    units: list[Unit],
    po: polib.POFile,
    approved: list[Approval],
    memory: Memory,
    glossary: Glossary = NO_GLOSSARY,
) -> list[Unit]:
    """``units`` as the merged PO has them, so that the TMX says what the PO
    says: a translation approved there, or a reviewer's edit not yet approved
    (still a draft) instead of the machine's."""
    by_key = {match_key(approval.source): approval for approval in approved}
    edits = {
        entry.msgid: entry.msgstr
        for entry in po
        if entry.fuzzy and entry.msgstr and not entry.obsolete and entry.msgctxt is None
    }
    updated = []
    for unit in units:
        approval = by_key.get(match_key(unit.source))
        edit = edits.get(clean_segment(unit.source))
        if approval is not None and (unit.approval is None or unit.approval.target != approval.target):
            approval = memory.find(unit.source, approval.target) or approval
            unit = replace(
                unit,
                target=approval.target,
                approval=approval,
                confidence=1.0,
                warnings=human_checks(unit.source, approval.target, glossary),
                logprob=None,
            )
        elif approval is None and edit is not None and edit != clean_segment(unit.target):
            note = f"a reviewer's edit, not yet approved; the machine translation: {unit.target}"
            warnings = (*human_checks(unit.source, edit, glossary), note)
            unit = replace(unit, target=edit, edited=True, warnings=warnings)
        updated.append(unit)
    return updated


def _make_writable_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except (FileExistsError, NotADirectoryError):
        raise ZhenError(f"output directory {out_dir} is a file, not a directory") from None
    except OSError as err:
        raise ZhenError(f"cannot write in {out_dir}: {err.strerror or err}") from None


def _check_distinct_names(inputs: Sequence[_Input]) -> None:
    seen: dict[Path, str] = {}
    for found in inputs:
        target = found.outputs.tmx
        if target in seen:
            raise ZhenError(f"{seen[target]} and {found.document_path} would both write {target}; rename one")
        seen[target] = found.document_path
