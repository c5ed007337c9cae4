"""zhen on a Ray cluster against a local run, on this machine, in one run.

The model is the random-weight opus-mt-zh-en-shaped one ``make
bench-translate`` builds (models/bench-opus-mt-shaped); the sentences are
mac-dev's (else the sample corpus). Every figure comes from whole ``zhen
run`` processes, as users run them, each with a fresh translation cache.

Throughput is the steady state: each configuration translates N and then
2N distinct sentences, and sentences/s is N over the difference in time, so
the fixed costs (start-up, loading the model, starting Ray and its actors)
cancel out; those are reported on their own. Configurations:

- local, 2 threads (the baseline);
- ``--ray`` on one node of 2 CPUs: 1 actor × 2 threads, 2 actors × 1 thread;
- scaling: one node of 1 CPU (1 actor), then a second node added (2 actors
  on two raylets, as on two machines). On one 2-core machine the ratio
  cannot exceed the 2 cores.

Then the driver's memory on a large corpus: many files made of a pool of
sentences (each translated once, on the cluster), streamed through the
driver's segmenting, planning and writing; its peak resident memory.

    python benchmarks/bench_ray.py [--sentences 100] [--corpus-mb 1024]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_translate import DEFAULT_DATA, bench_model, load_texts  # noqa: E402

OVERHEAD_GOAL = 0.9  # --ray at the same cores: at least this share of the local run's sentences/s
MEMORY_GOAL_MB = 2048
ONE_ACTOR, TWO_ACTORS = "--ray, 1 node: 1 actor × 2 threads", "--ray, 1 node: 2 actors × 1 thread"
ONE_NODE, TWO_NODES = "--ray, 1 node of 1 CPU: 1 actor × 1 thread", "--ray, 2 nodes of 1 CPU: 2 actors × 1 thread"


def zhen_run(documents: list[Path], model: Path, *options: str) -> float:
    """Seconds of one ``zhen run`` process, with a cache and outputs of its own."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pipeline", "run", *map(str, documents), "--out", folder]
        command += ["--model", str(model), "--cache", f"{folder}/cache.sqlite", "--no-tm", "-q", "--no-loop-guard"]
        command += options
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        return time.perf_counter() - started


def steady(name: str, small: Path, large: Path, extra: int, model: Path, *options: str) -> tuple[str, float, float]:
    """(name, sentences/s in the steady state, fixed seconds) of one configuration,
    after a run that leaves nothing to do the first time only (the model
    unpacked on a new cluster's nodes, the processes' files in the page cache)."""
    zhen_run([ROOT / "corpus" / "xiaomi-ecosystem-interview.zh.txt"], model, "--beams", "1", *options)
    t_small = zhen_run([small], model, *options)
    t_large = zhen_run([large], model, *options)
    rate = extra / max(t_large - t_small, 1e-9)
    return name, rate, t_small - extra / rate


def documents(folder: Path, sentences: list[str], count: int) -> tuple[Path, Path]:
    """A document of ``count`` distinct sentences, and one of twice as many (the first ones too)."""
    small, large = folder / "small.txt", folder / "large.txt"
    small.write_text("\n".join(sentences[:count]) + "\n", encoding="utf-8")
    large.write_text("\n".join(sentences[: 2 * count]) + "\n", encoding="utf-8")
    return small, large


def large_corpus(folder: Path, pool: list[str], megabytes: int) -> list[Path]:
    """``megabytes`` of documents of about 1 MB each, drawn from ``pool``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    paths = []
    for number in range(megabytes):
        lines, size = [], 0
        while size < 1 << 20:
            paragraph = "".join(rng.choice(pool) for _ in range(5))
            lines.append(paragraph)
            size += len(paragraph.encode()) + 1
        path = folder / f"doc{number:05d}.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def driver_peak_mb(documents: list[Path], model: Path, address: str) -> tuple[float, float]:
    """Peak resident memory (MB) of the driver, in a process of its own, and seconds."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pipeline", "run", *map(str, documents), "--out", folder]
        command += ["--model", str(model), "--cache", f"{folder}/cache.sqlite", "--no-tm", "-q", "--beams", "1"]
        command += ["--no-loop-guard", "--ray", address, "--threads", "1"]
        found = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True)
    peak, seconds = found.stdout.split()
    return float(peak), float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="mac-dev folder")
    parser.add_argument(
        "--sentences", type=int, default=100, help="N: runs of N and 2N sentences; 0 skips them (default: 100)"
    )
    parser.add_argument("--corpus-mb", type=int, default=1024, help="the large corpus, in MB; 0: none (default: 1024)")
    args = parser.parse_args()
    sentences, chinese, english = load_texts(args.data, 2 * args.sentences + 400)
    model = bench_model(chinese, english)
    if args.sentences:
        throughput(sentences, args.sentences, model)
    if args.corpus_mb:
        driver_memory(sentences[:400], args.corpus_mb, model)
    return 0


def throughput(sentences: list[str], n: int, model: Path) -> None:
    from ray.cluster_utils import Cluster

    # The loop guard off: random weights loop on nearly every sentence, a trained model rarely (bench-translate).
    print(f"{2 * n} sentences, model {model.relative_to(ROOT)}, beam 4, loop guard off")
    zhen_run([ROOT / "corpus" / "xiaomi-ecosystem-interview.zh.txt"], model, "--beams", "1")  # converted once
    results = []
    with tempfile.TemporaryDirectory() as folder:
        small, large = documents(Path(folder), sentences, n)
        results.append(steady("local, 2 threads", small, large, n, model, "--threads", "2"))
        results.append(steady("local, 1 thread", small, large, n, model, "--threads", "1"))
        one_node = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 2})
        try:
            for name, actors, threads in ((ONE_ACTOR, 1, 2), (TWO_ACTORS, 2, 1)):
                options = ("--ray", one_node.address, "--ray-actors", str(actors), "--threads", str(threads))
                results.append(steady(name, small, large, n, model, *options))
        finally:
            one_node.shutdown()
        nodes = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 1})
        try:
            options = ("--ray", nodes.address, "--threads", "1")
            results.append(steady(ONE_NODE, small, large, n, model, *options))
            nodes.add_node(num_cpus=1)
            nodes.wait_for_nodes()
            results.append(steady(TWO_NODES, small, large, n, model, *options))
        finally:
            nodes.shutdown()

    rates = {name: rate for name, rate, _ in results}
    print("\n| configuration | sentences/s (steady) | × local, 2 threads | fixed cost (s) |\n|---|---|---|---|")
    for name, rate, fixed in results:
        print(f"| {name} | {rate:.2f} | {rate / rates['local, 2 threads']:.2f} | {fixed:.1f} |")
    local = rates["local, 2 threads"]
    best = max(rates[ONE_ACTOR], rates[TWO_ACTORS])
    print(
        f"\nRay's overhead at the same 2 cores: --ray gives {best / local:.2f}× the local run's sentences/s "
        f"(goal ≥ {OVERHEAD_GOAL}: {'met' if best / local >= OVERHEAD_GOAL else 'NOT met'})"
    )
    scaling = rates[TWO_NODES] / rates[ONE_NODE]
    print(f"a second node: {scaling:.2f}× (two simulated nodes share this machine's 2 cores: at most 2×)")
    per_core = best / 2
    print("\nprojection (not measured): sentences/s ≈ this machine's per-core rate × cores")
    print("| cluster | cores | sentences/s | 10 M sentences |\n|---|---|---|---|")
    for label, cores in (("this machine (measured)", 2), ("4 nodes × 16 cores", 64), ("16 nodes × 32 cores", 512)):
        rate = per_core * cores
        print(f"| {label} | {cores} | {rate:,.0f} | {10_000_000 / rate / 3600:,.1f} h |")


def driver_memory(pool: list[str], megabytes: int, model: Path) -> None:
    from ray.cluster_utils import Cluster

    print(f"\nthe driver on a {megabytes} MB corpus of 1 MB documents (--ray, 1 node × 2 CPUs, greedy):")
    with tempfile.TemporaryDirectory() as folder:
        paths = large_corpus(Path(folder) / "corpus", pool, megabytes)
        cluster = Cluster(initialize_head=True, connect=False, head_node_args={"num_cpus": 2})
        try:
            peak, seconds = driver_peak_mb(paths, model, cluster.address)
        finally:
            cluster.shutdown()
    verdict = "met" if peak < MEMORY_GOAL_MB else "NOT met"
    print(f"peak driver memory {peak:,.0f} MB in {seconds:,.0f} s (goal under {MEMORY_GOAL_MB} MB: {verdict})")


if __name__ == "__main__":
    raise SystemExit(main())
