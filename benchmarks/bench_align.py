"""Sentence alignment benchmark on mac-dev: strict and lax F1, and scale.

For each of the six texts, zhen aligns zh.txt with en.txt (presegmented,
zh.mt.txt as the bridge, exactly as `python -m pipeline align SOURCE TARGET
--presegmented --source-mt zh.mt.txt` does) and is scored against gold.align
with Vecalign's metric. In the same run: zhen with no bridge (lengths,
quotations, numbers and Latin words only), a plain Gale-Church length aligner
(below), and Bertalign's published output (bertalign.align, LaBSE embeddings).
The weights were tuned on 001-003; 004-006 are held out.

--scale also aligns about 1,000 and 10,000 sentences a side (the six texts
concatenated, repeated as needed), each in a fresh process, and reports time,
peak memory and strict F1 against the concatenated gold.

    python benchmarks/bench_align.py [--data ../shared/data/mac-dev] [--scale]
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.align import align_sentences
from pipeline.data import Bead
from pipeline.han import PUBLISHED_CHARS_PER_HANZI
from pipeline.vecalign import evaluate, parse_beads

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mac-dev"
TUNING = ("001", "002", "003")
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


def accuracy(data: Path) -> bool:
    texts = sorted(p.name for p in data.iterdir() if (p / "gold.align").exists())
    systems = {
        "zhen (MT bridge)": lambda s, t, mt: align_sentences(s, t, mt),
        "zhen (no MT)": lambda s, t, mt: align_sentences(s, t),
        "Gale-Church": lambda s, t, mt: gale_church(s, t),
    }
    results: dict[str, dict[str, list]] = {name: {} for name in [*systems, "Bertalign (LaBSE)"]}
    for text in texts:
        folder = data / text
        source, target, bridge = lines(folder / "zh.txt"), lines(folder / "en.txt"), lines(folder / "zh.mt.txt")
        gold = parse_beads((folder / "gold.align").read_text(encoding="utf-8"))
        for name, system in systems.items():
            results[name][text] = [gold, system(source, target, bridge)]
        results["Bertalign (LaBSE)"][text] = [gold, parse_beads((folder / "bertalign.align").read_text())]
    print(
        f"{'system':<20}"
        + "".join(f"{t:>7}" for t in texts)
        + f"{'tuning':>8}{'held-out':>9}{'strict F1':>10}{'lax F1':>8}"
    )
    tuning, held = [t for t in texts if t in TUNING], [t for t in texts if t not in TUNING]
    for name, by_text in results.items():

        def f1(which, kind="strict", by_text=by_text):
            pairs = [by_text[t] for t in which]
            return getattr(evaluate([g for g, _ in pairs], [s for _, s in pairs]), kind)[2]

        row = "".join(f"{f1([t]):7.3f}" for t in texts)
        print(f"{name:<20}{row}{f1(tuning):8.3f}{f1(held):9.3f}{f1(texts):10.3f}{f1(texts, 'lax'):8.3f}")
        if name == "zhen (MT bridge)":
            ours = f1(texts), f1(texts, "lax")
    met = ours[0] >= GOAL_STRICT and ours[1] >= GOAL_LAX
    print(f"goal strict F1 >= {GOAL_STRICT}, lax F1 >= {GOAL_LAX}: {'met' if met else 'NOT met'}")
    return met


def scale(data: Path) -> bool:
    """Time and peak memory of aligning about N x N sentences, each in a fresh process."""
    results = {}
    for size, bridge in ((1_000, True), (10_000, True), (10_000, False)):
        command = [sys.executable, __file__, "--data", str(data), "--one-scale-run", str(size)]
        child = subprocess.run(command + ([] if bridge else ["--no-mt"]), capture_output=True, text=True)
        if child.returncode:
            sys.exit(child.stderr)
        n, m, seconds, peak_kib, strict = child.stdout.split()
        results[size, bridge] = float(seconds), int(peak_kib) / 1024
        label = "" if bridge else " (--no-mt)"
        print(
            f"{n:>6} x {m} sentences{label}: {float(seconds):5.1f} s, peak memory {int(peak_kib) / 1024:,.0f} MiB, "
            f"strict F1 {strict}"
        )
    seconds, peak_mib = results[10_000, True]
    ok = seconds < SCALE_LIMITS[0] and peak_mib < SCALE_LIMITS[1]
    print(f"goal 10,000 x 10,000 under {SCALE_LIMITS[0]:.0f} s and {SCALE_LIMITS[1]} MiB: {'met' if ok else 'NOT met'}")
    return ok


def one_scale_run(data: Path, size: int, bridged: bool = True) -> None:
    """Whole texts, repeated until the source has ``size`` sentences; the
    gold alignments concatenated the same way check that nothing degrades."""
    source, target, bridge, gold = [], [], [], []
    texts = sorted(p for p in data.iterdir() if (p / "gold.align").exists())
    while len(source) < size:
        for folder in texts:
            offset_s, offset_t = len(source), len(target)
            for bead in parse_beads((folder / "gold.align").read_text(encoding="utf-8")):
                gold.append(Bead(tuple(i + offset_s for i in bead.source), tuple(j + offset_t for j in bead.target)))
            source += lines(folder / "zh.txt")
            target += lines(folder / "en.txt")
            bridge += lines(folder / "zh.mt.txt")
            if len(source) >= size:
                break
    start = time.perf_counter()
    beads = align_sentences(source, target, bridge if bridged else None)
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
    parser.add_argument("--scale", action="store_true", help="also time 1k and 10k sentences a side")
    parser.add_argument("--one-scale-run", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-mt", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: no mac-dev data at {args.data}")
        return 0
    if args.one_scale_run:
        one_scale_run(args.data, args.one_scale_run, bridged=not args.no_mt)
        return 0
    accuracy(args.data)
    if args.scale:
        scale(args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
