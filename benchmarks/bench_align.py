"""Sentence alignment benchmark on mac-dev: strict and lax F1, and scale.

For each of the six texts, zhen aligns zh.txt with en.txt (presegmented,
zh.mt.txt as the bridge, as `zhen align SOURCE TARGET --presegmented
--source-mt zh.mt.txt` does) and is scored against gold.align with Vecalign's
metric: with the sentence encoder (models/all-MiniLM-L6-v2, `make
similarity-model`), without it, and with no bridge at all (dictionary
glosses); next to a plain Gale-Church length aligner (below) and Bertalign's
published output (bertalign.align, LaBSE embeddings).

The six texts come from six books, so zhen's figure is leave-one-text-out:
each text is aligned with the weights tune_align.py fitted on the other five
(benchmarks/align_folds.json); the mean over texts and the worst text are the
figures to trust. The shipped weights, fitted on all six, are shown too, for
comparison only.

--scale also aligns about 1,000 and 10,000 sentences a side (the six texts
concatenated, repeated as needed), each in a fresh process, and reports time,
peak memory and strict F1 against the concatenated gold.

    python benchmarks/bench_align.py [--data ../shared/data/mac-dev] [--scale]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.align import Weights, align_sentences, default_weights
from pipeline.data import Bead
from pipeline.encoder import SentenceEncoder
from pipeline.han import PUBLISHED_CHARS_PER_HANZI
from pipeline.run_align import KnownVectors
from pipeline.vecalign import evaluate, parse_beads

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mac-dev"
DEFAULT_SIMILARITY_MODEL = Path(__file__).resolve().parent.parent / "models" / "all-MiniLM-L6-v2"
FOLDS_FILE = Path(__file__).resolve().parent / "align_folds.json"
CASES = {"encoder": (True, True), "bridge": (True, False), "no-mt": (False, False)}  # bridged, encoded
GOAL_STRICT, GOAL_LAX = 0.93, 0.995
SCALE_LIMITS = (60.0, 2048)  # seconds, MiB for 10,000 x 10,000


def lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def gale_church(source: list[str], target: list[str]) -> list[Bead]:
    """Gale & Church (1993): lengths only, beads 1-1, 1-0, 0-1, 2-1, 1-2, 2-2,
    with their published priors; a Chinese character counts PUBLISHED_CHARS_PER_HANZI
    English characters. Full O(n·m) dynamic programming: fine for a chapter."""
    priors = {(1, 1): 0.89, (1, 0): 0.0099, (0, 1): 0.0099, (2, 1): 0.089 / 2, (1, 2): 0.089 / 2, (2, 2): 0.011}
    variance = 6.8
    src = [PUBLISHED_CHARS_PER_HANZI * len(s) for s in source]
    tgt = [float(len(t)) for t in target]
    n, m = len(src), len(tgt)
    cost = {(0, 0): 0.0}
    back = {}
    for i in range(n + 1):
        for j in range(m + 1):
            for (a, b), prior in priors.items():
                if (i - a, j - b) not in cost:
                    continue
                ls, lt = sum(src[i - a : i]), sum(tgt[j - b : j])
                mean = (ls + lt) / 2
                z = (lt - ls) / math.sqrt(variance * mean) if mean else 0.0
                p_match = max(2 * (1 - 0.5 * (1 + math.erf(abs(z) / math.sqrt(2)))), 1e-12)
                total = cost[(i - a, j - b)] - math.log(prior) - math.log(p_match)
                if total < cost.get((i, j), math.inf):
                    cost[(i, j)], back[(i, j)] = total, (a, b)
    beads, i, j = [], n, m
    while (i, j) != (0, 0):
        a, b = back[(i, j)]
        beads.append(Bead(tuple(range(i - a, i)), tuple(range(j - b, j))))
        i, j = i - a, j - b
    return beads[::-1]


def load_texts(data: Path, similarity_model: str | None = None) -> dict[str, dict]:
    """Each mac-dev text: its sentences, bridge (zh.mt.txt), gold beads and,
    with a similarity model, the vectors of its English sentences."""
    texts = {}
    for folder in sorted(p for p in data.iterdir() if (p / "gold.align").exists()):
        texts[folder.name] = dict(
            source=lines(folder / "zh.txt"),
            target=lines(folder / "en.txt"),
            bridge=lines(folder / "zh.mt.txt"),
            gold=parse_beads((folder / "gold.align").read_text(encoding="utf-8")),
        )
    if similarity_model:
        encoder = SentenceEncoder(similarity_model)
        for text in texts.values():
            english = [*text["bridge"], *text["target"]]
            text["vectors"] = dict(zip(english, encoder.embed(english), strict=True))
    return texts


def precomputed_encoder(text: dict) -> KnownVectors:
    """An encoder that looks up the text's vectors (tuning aligns the same texts hundreds of times)."""
    return KnownVectors(text["vectors"])


def fold_weights(case: str) -> dict[str, Weights] | None:
    """The weights tune_align.py fitted for each held-out text (and on all of them)."""
    saved = json.loads(FOLDS_FILE.read_text()) if FOLDS_FILE.exists() else {}
    if case not in saved:
        return None
    return {fold: Weights(**values) for fold, values in saved[case].items()}


def accuracy(data: Path, similarity_model: str | None) -> bool:
    texts = load_texts(data, similarity_model)
    names = sorted(texts)
    rows: dict[str, dict[str, list[Bead]]] = {}
    for case, label in (("encoder", "zhen, MT + encoder"), ("bridge", "zhen, MT bridge"), ("no-mt", "zhen, no MT")):
        bridged, encoded = CASES[case]
        if encoded and not similarity_model:
            print(f"{label}: skipped, no similarity model (make similarity-model)")
            continue
        folds = fold_weights(case)
        if folds is None:
            print(f"{label}: no fold weights in {FOLDS_FILE.name} (python benchmarks/tune_align.py --case {case})")
            continue
        if folds["all"] != default_weights(bridged, encoded):
            print(f"note: the shipped {case} weights are not the ones fitted on all texts in {FOLDS_FILE.name}")
        if set(names) <= set(folds):
            rows[label + " (LOTO)"] = {name: _align(texts[name], bridged, encoded, folds[name]) for name in names}
        else:
            print(f"{label}: {FOLDS_FILE.name} has no weights fitted without {sorted(set(names) - set(folds))}")
        rows[label + " (fit on all)"] = {
            name: _align(texts[name], bridged, encoded, default_weights(bridged, encoded)) for name in names
        }
    rows["Gale-Church"] = {name: gale_church(texts[name]["source"], texts[name]["target"]) for name in names}
    rows["Bertalign (LaBSE)"] = {
        name: parse_beads((data / name / "bertalign.align").read_text(encoding="utf-8")) for name in names
    }
    print(f"{'strict F1':<34}" + "".join(f"{n:>7}" for n in names) + f"{'mean':>7}{'worst':>7}{'pooled':>8}{'lax':>7}")
    results = {}
    for label, by_text in rows.items():
        per_text = [evaluate([texts[n]["gold"]], [by_text[n]]).strict[2] for n in names]
        pooled = evaluate([texts[n]["gold"] for n in names], [by_text[n] for n in names])
        results[label] = float(np.mean(per_text)), pooled.lax[2]
        print(
            f"{label:<34}"
            + "".join(f"{f:7.3f}" for f in per_text)
            + f"{np.mean(per_text):7.3f}{min(per_text):7.3f}{pooled.strict[2]:8.3f}{pooled.lax[2]:7.3f}"
        )
    best = "zhen, MT + encoder (LOTO)" if "zhen, MT + encoder (LOTO)" in results else "zhen, MT bridge (LOTO)"
    if best not in results:
        return False
    strict, lax = results[best]
    met = strict >= GOAL_STRICT and lax >= GOAL_LAX
    print(
        f"goal, leave-one-text-out: mean strict F1 >= {GOAL_STRICT}, lax F1 >= {GOAL_LAX}: "
        f"{strict:.3f}, {lax:.3f} ({best}): {'met' if met else 'NOT met'}"
    )
    return met


def _align(text: dict, bridged: bool, encoded: bool, weights: Weights) -> list[Bead]:
    encoder = precomputed_encoder(text) if encoded else None
    return align_sentences(text["source"], text["target"], text["bridge"] if bridged else None, weights, encoder)


def scale(data: Path, similarity_model: str | None) -> bool:
    """Time and peak memory of aligning about N x N sentences, each in a fresh process."""
    results = {}
    runs = [(1_000, "bridge"), (10_000, "bridge"), (10_000, "no-mt")]
    if similarity_model:
        runs = [(1_000, "encoder"), (10_000, "encoder"), *runs[1:]]
    for size, case in runs:
        command = [sys.executable, __file__, "--data", str(data), "--one-scale-run", str(size), "--case", case]
        if similarity_model:
            command += ["--similarity-model", similarity_model]
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode:
            sys.exit(child.stderr)
        n, m, seconds, peak_kib, strict = child.stdout.split()
        results[size, case] = float(seconds), int(peak_kib) / 1024
        print(
            f"{n:>6} x {m} sentences, {case:<8}: {float(seconds):5.1f} s, "
            f"peak memory {int(peak_kib) / 1024:,.0f} MiB, strict F1 {strict}"
        )
    seconds, peak_mib = results[10_000, runs[1][1]]
    ok = seconds < SCALE_LIMITS[0] and peak_mib < SCALE_LIMITS[1]
    print(
        f"goal 10,000 x 10,000 ({runs[1][1]}) under {SCALE_LIMITS[0]:.0f} s and {SCALE_LIMITS[1]} MiB: "
        f"{'met' if ok else 'NOT met'}"
    )
    return ok


def one_scale_run(data: Path, size: int, case: str, similarity_model: str | None) -> None:
    """Whole texts, repeated until the source has ``size`` sentences; the
    gold alignments concatenated the same way check that nothing degrades.
    Each repetition's sentences are marked with its number, so that every
    sentence is new to the encoder (it embeds a repeated sentence once) and
    the aligner can tell the copies apart, as it can a real book's chapters."""
    source, target, bridge, gold = [], [], [], []
    texts = load_texts(data)
    repetition = 0
    while len(source) < size:
        for text in texts.values():
            offset_s, offset_t = len(source), len(target)
            gold += [
                Bead(tuple(i + offset_s for i in b.source), tuple(j + offset_t for j in b.target)) for b in text["gold"]
            ]
            mark = f" ({repetition})" if repetition else ""
            source += [s + mark for s in text["source"]]
            target += [t + mark for t in text["target"]]
            bridge += [t + mark for t in text["bridge"]]
            if len(source) >= size:
                break
        repetition += 1
    bridged, encoded = CASES[case]
    start = time.perf_counter()
    encoder = SentenceEncoder(similarity_model) if encoded and similarity_model else None
    beads = align_sentences(source, target, bridge if bridged else None, encoder=encoder)
    seconds = time.perf_counter() - start
    strict = evaluate([gold], [beads]).strict[2]
    print(len(source), len(target), f"{seconds:.1f}", peak_kib(), f"{strict:.3f}")


def peak_kib() -> int:
    """This process's peak resident memory. Linux's VmHWM, not getrusage's
    ru_maxrss, which a child inherits from the parent that forked it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="mac-dev folder (default: %(default)s)")
    parser.add_argument(
        "--similarity-model",
        default=str(DEFAULT_SIMILARITY_MODEL),
        help="sentence encoder directory (default: %(default)s, made by `make similarity-model`); '' for none",
    )
    parser.add_argument("--scale", action="store_true", help="also time 1k and 10k sentences a side")
    parser.add_argument("--one-scale-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=sorted(CASES), default="encoder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no mac-dev data at {args.data}")
        return 0
    model = args.similarity_model or None
    if model and not Path(model).is_dir():
        print(f"no similarity model at {model} (make similarity-model): the encoder's figures are left out")
        model = None
    if args.one_scale_run:
        one_scale_run(args.data, args.one_scale_run, args.case, model)
        return 0
    accuracy(args.data, model)
    if args.scale:
        scale(args.data, model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
