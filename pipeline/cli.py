"""Command line: ``python -m pipeline`` or ``zhen``.

Each stage has a subcommand so it can be run and inspected on its own;
``run`` chains them all. Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .score import group_units, pair_and_score
from .data import Document, Pair, Provenance, Translation
from .errors import ZhenError
from .po import write_po
from .run import creation_time, run
from .segment import LANGUAGES, segment, segment_lines
from .textio import atomic_write, read_document
from .tmx import write_tmx
from .cache import CACHE_ENV_VAR
from .engines import ENGINES, PRECISIONS
from .model import DEFAULT_MODEL, MODEL_ENV_VAR, download
from .translate import DecodingOptions, Translator
from .vecalign import evaluate, parse_beads

log = logging.getLogger("pipeline")

EPILOG = """\
stages and their commands:
  segment    split a document into sentences
  translate  translate sentences, one per line
  align      pair sentences with their translations and score each pair
  run        all of the above, writing <out>/<name>.tmx and <out>/<name>.po
  evaluate-alignment  score a sentence alignment against a gold one

The model is --model, else $ZHEN_MODEL, else Helsinki-NLP/opus-mt-zh-en
(downloaded on first use; `zhen download-model` saves it for offline use).
Details: README.md.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbosity)
    _utf8_stdout()
    try:
        args.command(args)
    except ZhenError as err:
        print(f"zhen: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `zhen segment doc.txt | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # disk full, permission denied, ... while writing
        print(f"zhen: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zhen: interrupted; outputs written so far are complete", file=sys.stderr)
        return 130
    return 0


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
    common.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=logging.WARNING,
                        default=logging.INFO, help="only print warnings and errors")
    common.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=logging.DEBUG,
                        help="print debugging detail, including the libraries' own messages")
    reading = argparse.ArgumentParser(add_help=False, parents=[common])
    reading.add_argument("--encoding", metavar="ENC",
                         help="input encoding (default: detected among UTF-8, UTF-16, GB18030 and Big5)")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", metavar="M",
                       help=f"hub id or MarianMT directory (default: ${MODEL_ENV_VAR} or {DEFAULT_MODEL})")
    model.add_argument("--engine", choices=("auto", *ENGINES), default="auto",
                       help="ctranslate2 (fast; the model is converted once into models/) or "
                       "transformers (default: ctranslate2 if installed)")
    model.add_argument("--beams", type=_positive, metavar="N",
                       help="beam size; 1 is greedy, faster (default: the model's generation config, 4 for opus-mt)")
    model.add_argument("--precision", choices=PRECISIONS, default="auto",
                       help="weights' numeric type (default: int8 with ctranslate2 and float32 with "
                       "transformers on CPU, float16 on GPU)")
    model.add_argument("--batch-tokens", type=_positive, default=DecodingOptions.batch_tokens, metavar="N",
                       help="source tokens per batch, padding included (default: %(default)s)")
    model.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    model.add_argument("--threads", type=_positive, metavar="N", help="CPU threads (default: all cores)")
    model.add_argument("--cache", metavar="FILE",
                       help=f"translation cache, SQLite (default: ${CACHE_ENV_VAR} or ~/.cache/zhen/translations.sqlite)")
    model.add_argument("--no-cache", dest="use_cache", action="store_false",
                       help="neither read nor write the translation cache")
    model.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: only on a terminal)")

    run = commands.add_parser(
        "run", parents=[reading, model], help="translate documents into TMX and PO",
        description="Segment, translate and align each INPUT, writing DIR/<name>.tmx and "
        "DIR/<name>.po, where <name> is the file name without its last extension "
        "(corpus/a.zh.txt → out/a.zh.tmx, out/a.zh.po). Entries a reviewer approved "
        "in an existing DIR/<name>.po are kept.",
    )
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="plain-text Chinese documents")
    run.add_argument("-o", "--out", default="out", metavar="DIR", help="output directory (default: out)")
    run.set_defaults(command=_run)

    seg = commands.add_parser(
        "segment", parents=[reading], help="print a document's sentences, one per line",
        description="Print one sentence per line, with an empty line between paragraphs.",
    )
    seg.add_argument("file", metavar="FILE", help="plain-text document ('-' for stdin)")
    seg.add_argument("--lang", choices=LANGUAGES, default="zh", help="language of FILE (default: zh)")
    seg.set_defaults(command=_segment)

    tr = commands.add_parser(
        "translate", parents=[reading, model], help="translate sentences, one per line",
        description="Translate each line of FILE (one sentence per line, as `segment` prints) "
        "and print one translation per line; empty lines stay empty.",
    )
    tr.add_argument("file", nargs="?", default="-", metavar="FILE", help="sentences (default: stdin)")
    tr.set_defaults(command=_translate)

    al = commands.add_parser(
        "align", parents=[reading], help="pair sentences with their translations and score them",
        description="Pair sentence i of SOURCE with sentence i of TARGET, give each pair a "
        "confidence in [0,1] with the reasons it may be wrong, and print them as TSV "
        "(confidence, source, target, warnings) or write TMX/PO with -o.",
    )
    al.add_argument("source", metavar="SOURCE", help="Chinese text")
    al.add_argument("target", metavar="TARGET", help="its English translation")
    al.add_argument("--presegmented", action="store_true",
                    help="each non-empty line is one sentence (as `segment` and `translate` print)")
    al.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    al.add_argument("--format", choices=("tsv", "tmx", "po"),
                    help="output format (default: from OUT's extension, else tsv)")
    al.add_argument("--model-name", default="unknown", metavar="NAME",
                    help="what produced TARGET, for the TMX/PO comments (default: unknown)")
    al.set_defaults(command=_align)

    ev = commands.add_parser(
        "evaluate-alignment", parents=[common], help="score a sentence alignment against a gold one",
        description="Print strict and lax precision, recall and F1 of SYSTEM against GOLD, both in "
        "Vecalign's format (one bead per line: [0,1]:[2], [3]:[], []:[4]). Several pairs are "
        "counted together: GOLD1 SYSTEM1 GOLD2 SYSTEM2 ...",
    )
    ev.add_argument("files", nargs="+", metavar="GOLD SYSTEM", help="gold and system alignment files, in pairs")
    ev.set_defaults(command=_evaluate_alignment)

    dl = commands.add_parser(
        "download-model", parents=[common], help="save a model from the Hugging Face hub for offline use",
        description="Download a MarianMT model and save it to a directory (needs network).",
    )
    dl.add_argument("--model", default=DEFAULT_MODEL, metavar="ID", help="hub id (default: %(default)s)")
    dl.add_argument("--to", metavar="DIR", help="target directory (default: models/<name of the model>)")
    dl.set_defaults(command=_download)
    return parser


def _run(args: argparse.Namespace) -> None:
    run(args.inputs, args.out, lambda: _load_translator(args), encoding=args.encoding, progress=args.progress)


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
    translator = _load_translator(args)
    for translation in translator.translate(lines, args.progress):
        print(translation.text)


def _align(args: argparse.Namespace) -> None:
    source, pairs = _pair_files(args)
    fmt = args.format or _format_from_extension(args.output)
    if fmt == "tsv":
        _write_tsv(pairs, args.output)
        return
    if not args.output:
        raise ZhenError(f"--format {fmt} needs -o OUT")
    units = group_units(pairs, source.path)
    provenance = Provenance(model=args.model_name, created=creation_time())
    if fmt == "tmx":
        write_tmx(units, args.output, provenance)
    else:
        write_po(units, args.output, provenance, source.path)


def _pair_files(args: argparse.Namespace) -> tuple[Document, list[Pair]]:
    """Read SOURCE and TARGET, split both into sentences, and pair them one to one."""
    source = read_document(args.source, args.encoding)
    target = read_document(args.target, args.encoding)
    if args.presegmented:
        sentences, targets = segment_lines(source.text), segment_lines(target.text)
    else:
        sentences, targets = segment(source.text, "zh"), segment(target.text, "en")
    if len(sentences) != len(targets):
        raise ZhenError(
            f"{args.source} has {len(sentences)} sentences but {args.target} has {len(targets)}; "
            "this version pairs sentences one to one (use --presegmented for line-by-line files)"
        )
    return source, pair_and_score(sentences, [Translation(t.text) for t in targets])


def _evaluate_alignment(args: argparse.Namespace) -> None:
    if len(args.files) % 2:
        raise ZhenError("give alignment files in pairs: GOLD SYSTEM [GOLD SYSTEM ...]")
    beads = [parse_beads(read_document(path).text, path) for path in args.files]
    scores = evaluate(beads[0::2], beads[1::2])
    print("        precision  recall     F1")
    for name, (p, r, f) in (("strict", scores.strict), ("lax", scores.lax)):
        print(f"{name:<8}{p:9.3f}{r:9.3f}{f:9.3f}")


def _download(args: argparse.Namespace) -> None:
    target = Path(args.to or Path("models") / args.model.split("/")[-1])
    download(args.model, target)
    log.info("saved %s to %s; use it with --model %s", args.model, target, target)


def _write_tsv(pairs: list[Pair], output: str | None) -> None:
    rows = [
        "\t".join(
            cell.replace("\t", " ")
            for cell in (f"{p.confidence:.3f}", p.source.text, p.translation.text, "; ".join(p.warnings))
        )
        for p in pairs
    ]
    text = "".join(row + "\n" for row in rows)
    if output:
        atomic_write(output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)


def _format_from_extension(output: str | None) -> str:
    suffix = Path(output).suffix.lower() if output else ""
    return {".tmx": "tmx", ".po": "po"}.get(suffix, "tsv")


def _load_translator(args: argparse.Namespace) -> Translator:
    options = DecodingOptions(
        engine=args.engine, beams=args.beams, batch_tokens=args.batch_tokens, device=args.device,
        precision=args.precision, threads=args.threads,
    )
    return Translator.load(args.model, options, cache_path=args.cache, use_cache=args.use_cache)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


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
