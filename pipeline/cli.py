"""Command line: ``python -m pipeline`` or ``zhen``.

Each stage has a subcommand so it can be run and inspected on its own;
``run`` chains them all. Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import __version__
from .data import Provenance, Translation, Unit
from .engines import DEVICES, ENGINES, PRECISIONS
from .errors import ZhenError
from .glossary import NO_GLOSSARY, Glossary, read_glossary
from .memory import NO_MEMORY, Memory, TranslationMemory
from .model import OFFLINE_ADVICE, ModelUnavailable, download
from .po import approved_entries, read_po
from .prepare import copied
from .report import write_report
from .run import FuzzyMatches, run
from .run_align import FORMATS, align_documents
from .segment import LANGUAGES, segment
from .settings import (
    CACHE_ENV_VAR,
    DEFAULT_MEMORY,
    DEFAULT_MODEL,
    DEFAULT_SIMILARITY_MODEL,
    MEMORY_ENV_VAR,
    MODEL_ENV_VAR,
    SAVED_MODEL_DIR,
    SAVED_SIMILARITY_MODEL_DIR,
    SIMILARITY_MODEL_ENV_VAR,
    cache_path,
    creation_time,
    memory_location,
    similarity_model_name,
)
from .textio import read_document
from .tmx import read_tmx, write_tmx
from .translate import MAX_BATCH_TOKENS, MAX_BEAMS, MAX_THREADS, DecodingOptions, Translator, max_threads
from .vecalign import evaluate, parse_beads

log = logging.getLogger("pipeline")

EPILOG = """\
stages and their commands:
  segment    split a document into sentences
  translate  translate sentences, one per line
  align      align a document with its existing translation (TMX, PO, beads)
  run        all of the above, writing <out>/<name>.tmx, <out>/<name>.po and
             the translated document, <out>/<name>.en.<ext>
  evaluate-alignment  score a sentence alignment against a gold one
  report     a review report (HTML) of what run and align wrote

the translation memory (approved translations, reused by `run`):
  import-tmx   add the translations of another tool's TMX
  import-po    add the entries reviewers approved in PO files
  export-tm    write every approved translation as one TMX

The model is --model, else $ZHEN_MODEL, else models/opus-mt-zh-en if
`zhen download-model` (or `make model`) saved it there, else
Helsinki-NLP/opus-mt-zh-en from the Hugging Face hub (downloaded on first use).
Details: README.md.
"""


class Terminated(KeyboardInterrupt):
    """SIGTERM (what make, systemd and timeout send): cleaned up like Ctrl-C."""


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        parser = _parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said with the command's own usage, not the top level's
            args.usage.error(f"unrecognized arguments: {' '.join(unknown)}")
        _setup_logging(args.verbosity)
        _utf8_stdout()
        args.command(args)
    except ZhenError as err:
        _error(str(err))
        return 1
    except BrokenPipeError:  # `zhen segment doc.txt | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # disk full, permission denied, ... while writing
        _error(f"{err.strerror or err}: {err.filename or ''}".rstrip(": "))
        return 1
    except KeyboardInterrupt as signal_:
        return _interrupted(signal_)
    except Exception as err:  # a library may wrap Ctrl-C during its import in its own error
        if interrupt := _interruption_in(err):
            return _interrupted(interrupt)
        raise
    return 0


def _terminate(signum, frame) -> None:
    raise Terminated()


def _interrupted(interrupt: KeyboardInterrupt) -> int:
    """Ctrl-C or SIGTERM: every file written is complete (temporary files are removed)."""
    what = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
    print(f"zhen: {what}; outputs written so far are complete", file=sys.stderr)
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def _interruption_in(err: BaseException) -> KeyboardInterrupt | None:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _error(message: str) -> None:
    """The one-line error: a file name may hold a line break, the message never does."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    print(f"zhen: error: {line}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhen",
        description="Chinese→English machine translation for localization: TMX and PO out.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"zhen {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=logging.WARNING,
        default=logging.INFO,
        help="only print warnings and errors",
    )
    common.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=logging.DEBUG,
        help="print debugging detail, including the libraries' own messages",
    )
    reading = argparse.ArgumentParser(add_help=False, parents=[common])
    reading.add_argument(
        "--encoding", metavar="ENC", help="input encoding (default: detected among UTF-8, UTF-16, GB18030 and Big5)"
    )
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument(
        "--model",
        metavar="M",
        help=f"hub id or MarianMT directory (default: ${MODEL_ENV_VAR}, else {SAVED_MODEL_DIR} "
        f"if saved there, else {DEFAULT_MODEL})",
    )
    model.add_argument(
        "--engine",
        choices=("auto", *ENGINES),
        default="auto",
        help="ctranslate2 (fast; the model is converted once into models/) or "
        "transformers (default, auto: ctranslate2 on a CPU if installed, else transformers)",
    )
    model.add_argument(
        "--beams",
        type=_whole(1, MAX_BEAMS),
        metavar="N",
        help=f"beam size, 1 to {MAX_BEAMS}; 1 is greedy, faster (default: the model's generation "
        "config, 4 for opus-mt)",
    )
    model.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="weights' numeric type (default: int8 with ctranslate2 and float32 with "
        "transformers on CPU, float16 on GPU)",
    )
    model.add_argument(
        "--batch-tokens",
        type=_whole(1, MAX_BATCH_TOKENS),
        default=DecodingOptions.batch_tokens,
        metavar="N",
        help=f"source tokens per batch, padding included, up to {MAX_BATCH_TOKENS} (default: %(default)s)",
    )
    model.add_argument("--device", default="auto", type=_device, help="cpu, cuda, cuda:N or auto (default: auto)")
    model.add_argument(
        "--threads",
        type=_whole(1, MAX_THREADS),
        metavar="N",
        help=f"CPU threads, up to the {max_threads()} cores of this machine (default: all); with --ray, "
        "per actor, up to a node's cores (default: 4, or a node's cores if fewer)",
    )
    model.add_argument(
        "--cache",
        metavar="FILE",
        help=f"translation cache, SQLite (default: ${CACHE_ENV_VAR} or ~/.cache/zhen/translations.sqlite)",
    )
    model.add_argument(
        "--no-cache", dest="use_cache", action="store_false", help="neither read nor write the translation cache"
    )
    model.add_argument(
        "--loop-guard",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decode an output that repeats itself again, with repeats blocked (default: on)",
    )
    model.add_argument(
        "--glossary",
        metavar="FILE",
        help="terminology, TBX or CSV/TSV (zh,en[,note]): each term reaches the English as the glossary "
        "says, and translations people wrote are checked for it",
    )
    model.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: only on a terminal)",
    )
    memory = argparse.ArgumentParser(add_help=False)
    memory.add_argument(
        "--tm",
        metavar="FILE",
        help=f"the translation memory (SQLite), which must exist (default: ${MEMORY_ENV_VAR}, which "
        f"must too, else ./{DEFAULT_MEMORY}, started on first use)",
    )
    memory.add_argument("--new-tm", metavar="FILE", help="the translation memory, started at FILE if there is none")

    run = commands.add_parser(
        "run",
        parents=[reading, model, memory],
        help="translate documents into TMX, PO and the document in its own format",
        description="Segment, translate and score each INPUT, writing DIR/<name>.tmx and "
        "DIR/<name>.po, where <name> is the file name without its last extension "
        "(corpus/a.zh.txt → out/a.zh.tmx, out/a.zh.po), and the document translated in its own "
        "format, DIR/<name>.en.<ext>, a Chinese language tag at the end of <name> replaced by en "
        "(README.zh-CN.md → out/README.en.md); a PO/POT catalog's translation is DIR/<name>.po "
        "itself. Placeholders and markup inside strings are kept exactly. An existing "
        "DIR/<name>.po is merged: entries a reviewer approved are kept and go into the translation "
        "memory, and sentences the memory knows get their approved translation instead of the model's.",
    )
    run.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="Chinese documents: .txt, .md, .html/.htm, .json (i18n), .po/.pot, .xlf/.xliff",
    )
    run.add_argument("-o", "--out", default="out", metavar="DIR", help="output directory (default: out)")
    run.add_argument(
        "--no-tm", dest="use_tm", action="store_false", help="neither read nor write the translation memory"
    )
    run.add_argument(
        "--fuzzy-threshold",
        type=_whole(1, 101),
        default=round(FuzzyMatches.threshold * 100),
        metavar="PERCENT",
        help="a sentence the memory has one this alike of (character-level, as CAT tools score it) gets "
        "its approved translation as a fuzzy draft; 101 turns fuzzy matches off (default: %(default)s)",
    )
    run.add_argument(
        "--fuzzy-matches",
        choices=("instead", "beside"),
        default="beside",
        help="a fuzzy match is offered in the comment beside the model's draft (beside), or is the "
        "entry's draft itself, the model not asked (instead, as msgmerge does) (default: %(default)s)",
    )
    run.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help='translate on a Ray cluster (pip install "zhen[ray]"): auto, host:6379 or ray://host:10001; '
        "without ADDRESS, $RAY_ADDRESS, else a Ray started on this machine for the run. Outputs, the "
        "cache and the memory stay here; the files are those of a local run",
    )
    run.add_argument(
        "--ray-actors",
        type=_whole(1, 1 << 16),
        metavar="N",
        help="with --ray: translation actors, each loading the model once (default: as many as the "
        "cluster's CPUs allow at --threads each; one per GPU on GPU nodes)",
    )
    run.set_defaults(command=_run, usage=run)

    imp = commands.add_parser(
        "import-tmx",
        parents=[common, memory],
        help="add another tool's TMX to the translation memory",
        description="Add the Chinese→English pairs of TMX files (from OmegaT, Trados, memoQ, Okapi, "
        "zhen align, ...) to the translation memory. Languages may be written zh, zh-CN, zh-Hans, "
        "zh_CN, en-US, ... in xml:lang or the older lang; units in other languages, and units "
        "marked as drafts (x-ConfirmationLevel Draft, zhen's machine translations), are skipped "
        "and counted. A file that cannot be read adds nothing.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE", help="TMX files")
    imp.set_defaults(command=_import_tmx, usage=imp)

    ipo = commands.add_parser(
        "import-po",
        parents=[common, memory],
        help="add the approved entries of PO files to the translation memory",
        description="Add the entries reviewers approved (translated, not fuzzy) in PO files to the "
        "translation memory, as `run` does for the PO files it merges. A file that cannot be "
        "read adds nothing.",
    )
    ipo.add_argument("files", nargs="+", metavar="FILE", help="PO files")
    ipo.set_defaults(command=_import_po, usage=ipo)

    exp = commands.add_parser(
        "export-tm",
        parents=[common, memory],
        help="write the translation memory as one TMX",
        description="Write every approved translation in the translation memory (the latest, "
        "where a sentence was approved more than once) as a TMX 1.4b file, each unit marked "
        "x-ConfirmationLevel ApprovedTranslation, with who approved it and when.",
    )
    exp.add_argument("-o", "--output", required=True, metavar="FILE", help="the TMX file to write")
    exp.set_defaults(command=_export_tm, usage=exp)

    seg = commands.add_parser(
        "segment",
        parents=[reading],
        help="print a document's sentences, one per line",
        description="Print one sentence per line, with an empty line between paragraphs.",
    )
    seg.add_argument("file", metavar="FILE", help="plain-text document ('-' for stdin)")
    seg.add_argument("--lang", choices=LANGUAGES, default="zh", help="language of FILE (default: zh)")
    seg.set_defaults(command=_segment, usage=seg)

    tr = commands.add_parser(
        "translate",
        parents=[reading, model],
        help="translate sentences, one per line",
        description="Translate each line of FILE (one sentence per line, as `segment` prints) "
        "and print one translation per line; empty lines stay empty. This is the model's output "
        "(through the translation cache): the translation memory's approved translations are used "
        "by `run`, not here. Lines without Chinese are copied, and when no line has Chinese the "
        "model is not loaded.",
    )
    tr.add_argument("file", nargs="?", default="-", metavar="FILE", help="sentences (default: stdin)")
    tr.set_defaults(command=_translate, usage=tr)

    al = commands.add_parser(
        "align",
        parents=[reading, model],
        help="align a Chinese document with its existing English translation",
        description="Align the sentences of SOURCE (Chinese) with those of TARGET (its English "
        "translation), using a machine translation of SOURCE as the bridge: beads of 1 to 6 "
        "sentences a side, or a sentence with no counterpart, each with a confidence. "
        "Writes Vecalign beads ([0,1]:[2]), TMX or PO (pairs under the review threshold fuzzy), "
        "or prints TSV (confidence, source, target) without -o.",
    )
    al.add_argument("source", metavar="SOURCE", help="Chinese text")
    al.add_argument("target", metavar="TARGET", help="its English translation")
    al.add_argument(
        "--presegmented", action="store_true", help="each non-empty line of SOURCE and TARGET is one sentence"
    )
    al.add_argument(
        "--source-mt",
        metavar="FILE",
        help="machine translation of SOURCE, one line per source sentence "
        "(default: translate SOURCE with the model, cached)",
    )
    al.add_argument(
        "--no-mt",
        dest="bridge",
        action="store_false",
        help="align without a model: dictionary glosses (CC-CEDICT), lengths, quotations, "
        "numbers and Latin-script words",
    )
    al.add_argument(
        "--similarity-model",
        metavar="M",
        help="English sentence encoder (sentence-transformers hub id or directory) comparing the "
        f"bridge with TARGET by meaning (default: ${SIMILARITY_MODEL_ENV_VAR}, else "
        f"{SAVED_SIMILARITY_MODEL_DIR} if `make similarity-model` made it, else {DEFAULT_SIMILARITY_MODEL}); "
        "if it cannot be loaded, zhen warns and aligns without it; unused with --no-mt",
    )
    al.add_argument(
        "--no-similarity-model",
        dest="similarity",
        action="store_false",
        help="align without a sentence encoder (words, lengths, quotations)",
    )
    al.add_argument("-o", "--output", metavar="OUT", help="write here instead of printing TSV")
    al.add_argument(
        "--format", choices=FORMATS, help="output format (default: from OUT's extension: .tmx, .po, else vecalign)"
    )
    al.set_defaults(command=_align, usage=al)

    ev = commands.add_parser(
        "evaluate-alignment",
        parents=[common],
        help="score a sentence alignment against a gold one",
        description="Print strict and lax precision, recall and F1 of SYSTEM against GOLD, both in "
        "Vecalign's format (one bead per line: [0,1]:[2], [3]:[], []:[4]). Several pairs are "
        "counted together: GOLD1 SYSTEM1 GOLD2 SYSTEM2 ...",
    )
    ev.add_argument("files", nargs="+", metavar="GOLD SYSTEM", help="gold and system alignment files, in pairs")
    ev.set_defaults(command=_evaluate_alignment, usage=ev)

    rp = commands.add_parser(
        "report",
        parents=[common],
        help="a review report of what run and align wrote, to open in a browser",
        description="Write one self-contained HTML page (no network, works from file:// and by mail) "
        "of the units in PATH: an output directory (each PO and TMX zhen wrote there), PO or TMX "
        "files written by `zhen run` or `zhen align`. It shows a summary by document and state, a "
        "confidence histogram, every unit side by side worst first with filters and search, and a "
        "dot plot of each alignment.",
    )
    rp.add_argument("paths", nargs="+", metavar="PATH", help="output directories, PO or TMX files")
    rp.add_argument("-o", "--output", required=True, metavar="FILE.html", help="the page to write")
    rp.set_defaults(command=_report, usage=rp)

    dl = commands.add_parser(
        "download-model",
        parents=[common],
        help="save a model from the Hugging Face hub for offline use",
        description="Download a MarianMT model and save it to a directory (needs network).",
    )
    dl.add_argument("--model", metavar="ID", help=f"hub id (default: ${MODEL_ENV_VAR} if set, else {DEFAULT_MODEL})")
    dl.add_argument(
        "--to",
        metavar="DIR",
        help=f"target directory (default: {SAVED_MODEL_DIR} for {DEFAULT_MODEL}, else models/<name of the model>)",
    )
    dl.set_defaults(command=_download, usage=dl)
    return parser


def _run(args: argparse.Namespace) -> None:
    glossary = _glossary(args)
    memory: Memory = _memory(args) if args.use_tm else NO_MEMORY
    fuzzy = FuzzyMatches(args.fuzzy_threshold / 100, instead=args.fuzzy_matches == "instead")
    if args.ray is None:
        if args.ray_actors:
            raise ZhenError("--ray-actors needs --ray")
        run(
            args.inputs,
            args.out,
            lambda: _load_translator(args, glossary),
            memory,
            args.encoding,
            args.progress,
            glossary,
            fuzzy,
        )
        return
    from .cluster import connect  # Ray is imported only for --ray

    with connect(args.ray or None, args.ray_actors, args.threads) as cluster, tempfile.TemporaryDirectory() as scratch:
        # The cache is how translations come back from the cluster: without
        # one (--no-cache), a cache for this run only.
        cache = args.cache if args.use_cache else Path(scratch) / "cache.sqlite"
        options = cluster.options(_decoding_options(args))

        def load() -> Translator:
            return Translator.load(args.model, options, cache=cache, glossary=glossary, here=False)

        run(args.inputs, args.out, load, memory, args.encoding, args.progress, glossary, fuzzy, translate_first=cluster)


def _import_tmx(args: argparse.Namespace) -> None:
    memory = _memory(args)
    for path in args.files:
        found = read_tmx(path)
        # Read and stored in one go, one transaction: the file is never held
        # in memory, and a fault anywhere in it stores nothing.
        new = _reading(path, "TMX", memory.learn, found.units())
        skipped = [
            f"{count} {what}"
            for count, what in (
                (found.drafts, "marked as drafts or machine translation"),
                (found.other_languages, "without both Chinese and English"),
                (found.empty, "with an empty segment"),
                (found.entities, "with an entity reference (&name;), which zhen does not expand"),
            )
            if count
        ]
        log.info(
            "%s: %d Chinese→English units, %d new to the memory%s",
            path,
            found.approved,
            new,
            f"; skipped {', '.join(skipped)}" if skipped else "",
        )


def _import_po(args: argparse.Namespace) -> None:
    memory = _memory(args)
    for path in args.files:
        approved = approved_entries(_reading(path, "PO", read_po, path), path)
        log.info("%s: %d approved entries, %d new to the memory", path, len(approved), memory.learn(approved))


def _export_tm(args: argparse.Namespace) -> None:
    approved = _memory(args, may_start=False).approved()
    units = [Unit(a.source, a.target, 1.0, (), (), approval=a, context=a.context) for a in approved]
    write_tmx(units, args.output, Provenance(model="", created=creation_time()))
    log.info("%s: %d approved translations", args.output, len(units))


def _memory(args: argparse.Namespace, may_start: bool = True) -> TranslationMemory:
    """The memory the options name. One the user names must exist: a typo
    must never start an empty memory and leave the real one aside."""
    if args.tm and args.new_tm:
        raise ZhenError("give --tm (an existing memory) or --new-tm (to start one), not both")
    path, may_create = memory_location(args.tm, args.new_tm)
    if not path.exists():
        if not (may_create and may_start):
            named = "--tm" if args.tm else "" if may_create else f"${MEMORY_ENV_VAR}"
            where = f" ({named})" if named else ""
            raise ZhenError(
                f"there is no translation memory at {path}{where}; check the path, or start one there "
                f"with --new-tm {path} (make: TM={path} NEW_TM=1)"
            )
        log.info("starting a new translation memory at %s", path)
    return TranslationMemory(path)


def _reading(path: str, kind: str, read, *args):
    """``read(*args)``, its failures to read ``path`` as one line naming the file."""
    if not Path(path).exists():
        raise ZhenError(f"cannot read {path}: no such file")
    if not Path(path).is_file():
        raise ZhenError(f"cannot read {path}: not a regular file")
    try:
        return read(*args)
    except (OSError, UnicodeError, ValueError) as err:
        raise ZhenError(f"{path} cannot be read as {kind} ({err}); nothing was imported") from None


def _segment(args: argparse.Namespace) -> None:
    document = read_document(args.file, args.encoding)
    paragraph = None
    for sentence in segment(document.text, args.lang):
        if paragraph is not None and sentence.paragraph != paragraph:
            print()
        print(sentence.text)
        paragraph = sentence.paragraph


def _translate(args: argparse.Namespace) -> None:
    lines = read_document(args.file, args.encoding).text.splitlines()
    copies = [copied(line) for line in lines]
    translations: Sequence[Translation | None] = copies
    stats: Mapping[str, int] = {}
    if not all(copies):
        translator = _load_translator(args, _glossary(args))
        translations, stats = translator.translate(lines, args.progress), translator.stats
    for translation in translations:
        print(translation.text if translation else "")
    log.info(
        "%s: %d lines, %d distinct sentences translated by the model, %d from the translation cache",
        args.file,
        len(lines),
        stats.get("translated", 0),
        stats.get("cached", 0),
    )


def _align(args: argparse.Namespace) -> None:
    glossary = _glossary(args)

    def translate(sentences: list[str]) -> list[str]:
        return [t.text for t in _load_translator(args, glossary).translate(sentences, args.progress)]

    align_documents(
        args.source,
        args.target,
        args.output,
        args.format,
        presegmented=args.presegmented,
        source_mt=args.source_mt,
        translate=translate if args.bridge else None,
        encoding=args.encoding,
        glossary=glossary,
        similarity_model=similarity_model_name(args.similarity_model) if args.similarity else None,
        threads=args.threads or 0,
        cache=cache_path(args.cache) if args.use_cache else None,
    )


def _report(args: argparse.Namespace) -> None:
    write_report(args.paths, args.output)


def _evaluate_alignment(args: argparse.Namespace) -> None:
    if len(args.files) % 2:
        args.usage.error("give alignment files in pairs: GOLD SYSTEM [GOLD SYSTEM ...]")
    beads = [parse_beads(read_document(path).text, path) for path in args.files]
    scores = evaluate(beads[0::2], beads[1::2])
    print("        precision  recall     F1")
    for name, (p, r, f) in (("strict", scores.strict), ("lax", scores.lax)):
        print(f"{name:<8}{p:9.3f}{r:9.3f}{f:9.3f}")


def _download(args: argparse.Namespace) -> None:
    name = args.model or os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL
    default = SAVED_MODEL_DIR if name == DEFAULT_MODEL else Path("models") / name.rstrip("/").split("/")[-1]
    target = Path(args.to or default)
    try:
        download(name, target)
    except ModelUnavailable as err:
        raise ModelUnavailable(err.problem, f"downloading needs network once; {OFFLINE_ADVICE}") from None
    used = "zhen and make use it from now on" if target == SAVED_MODEL_DIR else f"use it with --model {target}"
    log.info("saved %s to %s; %s", name, target, used)


def _glossary(args: argparse.Namespace) -> Glossary:
    return read_glossary(args.glossary) if args.glossary else NO_GLOSSARY


def _load_translator(args: argparse.Namespace, glossary: Glossary = NO_GLOSSARY) -> Translator:
    options = _decoding_options(args)
    return Translator.load(args.model, options, cache=args.cache, use_cache=args.use_cache, glossary=glossary)


def _decoding_options(args: argparse.Namespace) -> DecodingOptions:
    return DecodingOptions(
        engine=args.engine,
        beams=args.beams,
        batch_tokens=args.batch_tokens,
        device=args.device,
        precision=args.precision,
        threads=args.threads,
        loop_guard=args.loop_guard,
    )


def _device(text: str) -> str:
    if not DEVICES.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, not {text!r}")
    return text


def _whole(least: int, most: int):
    """An argparse type: a whole number from ``least`` to ``most``."""

    def number(text: str) -> int:
        if not text.strip().isdigit() or not least <= int(text) <= most:
            raise argparse.ArgumentTypeError(f"expected a whole number from {least} to {most}, not {text!r}")
        return int(text)

    return number


def _setup_logging(level: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="zhen: %(message)s")
    log.setLevel(level)
    # transformers and huggingface_hub print their own warnings and bars
    # (weights loading, "Recommended: pip install sacremoses"); keep stderr
    # for ours unless asked.
    if level > logging.DEBUG:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _utf8_stdout() -> None:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
