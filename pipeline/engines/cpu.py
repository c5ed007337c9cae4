"""CTranslate2's CPU code paths: which one runs this CPU fastest, chosen by measurement.

CTranslate2 picks its matrix library by the CPU's vendor (Intel MKL on Intel,
oneDNN on AMD and others) and never AVX-512 by itself; neither choice is
known to be the fastest on a given CPU (MKL's code paths on AMD, AVX-512's
clock cost). So the first time a model is run on a CPU, each candidate is
timed on that model in a process of its own, and the fastest is remembered
for this CPU and CTranslate2 version (``cpu-backends.json`` beside the
converted models; measured again when a larger model runs). Later processes
run with it.

The library reads its choice from the environment once, when it is loaded:
the remembered one must be there before the first ``import ctranslate2``,
hence :func:`import_ctranslate2`. A user's own ``CT2_USE_MKL`` or
``CT2_FORCE_CPU_ISA`` wins, and nothing is measured.

Both choices can change an int8 translation (on a random-weight model 6 of 60
beam-4 outputs differed between MKL and oneDNN, and between AVX2 and
AVX-512), so the backend a process runs is part of the translation cache's key.

    python -c "from pipeline.engines.cpu import time_workload; print(time_workload('CONVERTED_DIR', 2))"
"""

from __future__ import annotations

import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from ..settings import cpu_backends_path

log = logging.getLogger("pipeline.translate")

ENV = ("CT2_USE_MKL", "CT2_FORCE_CPU_ISA")
# Set beside them when zhen put its remembered choice in the environment (its
# child processes inherit both), so that they are not taken for the user's.
CHOSEN_BY_ZHEN = "ZHEN_CPU_BACKEND"
# Another backend replaces CTranslate2's own choice only if this much faster:
# timings on a shared machine move by a few percent.
MARGIN = 0.05
# The workload each candidate is timed on: beam-4 batches of opus-mt's shape
# (as zhen sends them), output lengths fixed so that every candidate does the same work.
SENTENCES, SOURCE_TOKENS, OUTPUT_TOKENS, BATCH, BEAMS = 16, 24, 32, 8, 4


@dataclass(frozen=True)
class Backend:
    gemm: str  # "mkl" or "dnnl": the int8 and float32 matrix library
    isa: str  # CTranslate2's own kernels: "AVX2", "AVX512", "AVX", "NEON", "GENERIC"

    @property
    def label(self) -> str:
        return f"{self.gemm}-{self.isa.lower()}"

    def env(self) -> dict[str, str]:
        return {"CT2_USE_MKL": "1" if self.gemm == "mkl" else "0", "CT2_FORCE_CPU_ISA": self.isa}


def import_ctranslate2():
    """The ctranslate2 module, loaded with this CPU's remembered backend."""
    settle()
    import ctranslate2

    return ctranslate2


def settle() -> Backend:
    """The backend this process's CTranslate2 runs: the remembered choice, put
    in the environment if the library is not loaded yet, unless the user set one."""
    if "ctranslate2" not in sys.modules and not any(name in os.environ for name in ENV):
        mine = _choice(remembered().get(cpu_identity()))
        if mine:
            os.environ.update({**mine.env(), CHOSEN_BY_ZHEN: mine.label})
    return in_effect()


def user_chose() -> bool:
    """Did the user set CTranslate2's CPU backend (rather than zhen, or nobody)?"""
    return any(name in os.environ for name in ENV) and CHOSEN_BY_ZHEN not in os.environ


def in_effect() -> Backend:
    """The backend the environment asks for, else CTranslate2's own choice."""
    default = default_backend()
    use_mkl = os.environ.get("CT2_USE_MKL")
    gemm = default.gemm if use_mkl is None else ("mkl" if use_mkl.lower() in ("1", "true", "on") else "dnnl")
    return Backend(gemm, os.environ.get("CT2_FORCE_CPU_ISA") or default.isa)


def default_backend() -> Backend:
    """What CTranslate2 picks by itself (src/cpu/backend.cc, cpu_isa.cc)."""
    vendor, _, flags = _cpu()
    if not _x86():
        return Backend("none", "NEON" if "asimd" in flags or platform.machine() == "arm64" else "GENERIC")
    isa = "AVX2" if "avx2" in flags else "AVX" if "avx" in flags else "GENERIC"
    return Backend("mkl" if vendor == "GenuineIntel" else "dnnl", isa)


def candidates() -> list[Backend]:
    """The backends worth timing here: MKL and oneDNN, with AVX-512 where the CPU has it."""
    default = default_backend()
    if not _x86() or default.isa != "AVX2":
        return [default]
    isas = ["AVX2"] + (["AVX512"] if {"avx512f", "avx512bw", "avx512vl"} <= _cpu()[2] else [])
    return [default] + [b for b in (Backend(g, i) for g in ("mkl", "dnnl") for i in isas) if b != default]


def cpu_identity() -> str:
    """This CPU (vendor, model, the instruction sets that matter) and CTranslate2's version."""
    vendor, model, flags = _cpu()
    isas = " ".join(sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")))
    try:
        version = metadata.version("ctranslate2")
    except metadata.PackageNotFoundError:
        version = "none"
    return f"{vendor} {model} [{isas}] ctranslate2 {version}"


def calibrate(converted: Path, threads: int) -> Backend | None:
    """Time each candidate on ``converted`` and remember the fastest for this
    CPU (nothing if the user chose, or there is one candidate); the choice.

    Once per CPU, and again only for a larger model than the one measured
    (its size in bytes): a tiny demo model's timings say little about
    opus-mt's, and the largest model run is where speed matters.
    """
    identity, options = cpu_identity(), candidates()
    if user_chose() or len(options) < 2:
        return None
    size = (converted / "model.bin").stat().st_size
    with _alone():
        entry = remembered().get(identity) or {}
        known = _choice(entry)
        if known and entry.get("model_bytes", 0) >= size:
            return known
        labels = ", ".join(b.label for b in options)
        log.info("timing CTranslate2's CPU backends on this CPU (once, on the largest model run): %s", labels)
        seconds = {b: _time(b, converted, threads) for b in options}
        return _choose(identity, options, seconds, size)


def _choose(
    identity: str, options: list[Backend], seconds: dict[Backend, float | None], model_bytes: int
) -> Backend | None:
    """The fastest candidate, unless CTranslate2's own (the first) is within MARGIN of it; remembered."""
    timed = {b: s for b, s in seconds.items() if s is not None}
    default = options[0]
    if default not in timed:
        return None
    fastest = min(timed, key=timed.__getitem__)
    choice = fastest if timed[fastest] < (1 - MARGIN) * timed[default] else default
    timings = ", ".join(f"{b.label} {s:.2f} s" for b, s in timed.items())
    log.info("CPU backend for %s: %s (%s)", identity, choice.label, timings)
    _remember(
        identity,
        {
            "choice": choice.__dict__,
            "seconds": {b.label: round(s, 3) for b, s in timed.items()},
            "model_bytes": model_bytes,
        },
    )
    return choice


def _time(backend: Backend, converted: Path, threads: int) -> float | None:
    """Seconds the benchmark workload takes under ``backend``, in a fresh process (None: it failed)."""
    code = f"from pipeline.engines.cpu import time_workload; print(time_workload({str(converted)!r}, {threads}))"
    command = [sys.executable, "-c", code]
    env = {**os.environ, **backend.env()}
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=600)
        return float(done.stdout.split()[-1]) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, IndexError, ValueError):
        return None


@contextmanager
def _alone() -> Iterator[None]:
    """One process measures at a time (a cluster node starts several workers
    at once, and timings taken side by side mean nothing); the others wait,
    then find its choice."""
    try:
        import fcntl

        path = cpu_backends_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "w")  # noqa: SIM115 (held across the yield)
    except (ImportError, OSError):  # not POSIX, or a read-only cache: measure anyway
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def time_workload(converted: str | Path, threads: int) -> float:
    """Seconds the benchmark workload takes here, with the backend the environment selects."""
    import ctranslate2

    converted = Path(converted)
    vocabulary = _source_vocabulary(converted)
    rng = random.Random(0)
    source = [[*rng.choices(vocabulary, k=SOURCE_TOKENS - 1), "</s>"] for _ in range(SENTENCES)]
    translator = ctranslate2.Translator(
        str(converted), device="cpu", compute_type="int8", inter_threads=threads, intra_threads=1
    )
    options = dict(
        beam_size=BEAMS,
        max_batch_size=BATCH,
        min_decoding_length=OUTPUT_TOKENS,
        max_decoding_length=OUTPUT_TOKENS,
    )
    translator.translate_batch(source[:BATCH], **options)  # warm up
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        translator.translate_batch(source, **options)
        best = min(best, time.perf_counter() - started)
    return best


def _source_vocabulary(converted: Path) -> list[str]:
    for name in ("source_vocabulary.json", "shared_vocabulary.json"):
        if (converted / name).is_file():
            tokens = json.loads((converted / name).read_text(encoding="utf-8"))
            return [t for t in tokens if not (t.startswith("<") and t.endswith(">"))] or tokens
    raise FileNotFoundError(f"no vocabulary in {converted}")


def remembered() -> dict:
    """The choices measured so far, by :func:`cpu_identity`, with each candidate's seconds."""
    try:
        remembered = json.loads(cpu_backends_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return remembered if isinstance(remembered, dict) else {}


def _choice(entry: dict | None) -> Backend | None:
    """The backend a remembered entry names (None for none, or a damaged one: measured again)."""
    try:
        return Backend(**entry["choice"]) if entry else None
    except (KeyError, TypeError):
        return None


def _remember(identity: str, entry: dict) -> None:
    """Add this CPU's choice to the file, atomically (another process may be writing)."""
    path = cpu_backends_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        known = {**remembered(), identity: entry}
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
            json.dump(known, out, indent=1)
        os.replace(out.name, path)
    except OSError as err:  # a read-only cache: measured again next time, no harm done
        log.warning("cannot remember the CPU backend in %s: %s", path, err.strerror or err)


@cache
def _cpu() -> tuple[str, str, frozenset[str]]:
    """Vendor, model name and feature flags (Linux's /proc/cpuinfo; elsewhere what platform says)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        info = ""
    fields: dict[str, str] = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags") or fields.get("Features") or ""
    return fields.get("vendor_id", ""), fields.get("model name", platform.processor()), frozenset(flags.split())


def _x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
