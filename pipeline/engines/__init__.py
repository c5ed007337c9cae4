"""Engines run a MarianMT model on batches of token ids.

The translate stage does everything around them (normalising, splitting,
batching, caching, guarding against loops); an engine only turns a batch of
source token ids into output token ids with their log-probabilities. Two
engines run the same model directory: ``transformers`` (PyTorch, the
reference) and ``ctranslate2`` (a converted copy, int8 on CPU, several
times faster).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ..errors import ZhenError
from .base import Batch, Engine, Output, Request
from .cpu import import_ctranslate2, settle

__all__ = [
    "DEVICES",
    "ENGINES",
    "PRECISIONS",
    "Batch",
    "Engine",
    "LazyEngine",
    "Output",
    "Request",
    "choose_engine",
    "resolve_precision",
]

if TYPE_CHECKING:
    from ..model import ModelInfo

log = logging.getLogger("pipeline.translate")

ENGINES = ("ctranslate2", "transformers")
PRECISIONS = ("auto", "float32", "float16", "bfloat16", "int8")


# What --device accepts.
DEVICES = re.compile(r"auto|cpu|cuda(:\d+)?")


def choose_engine(engine: str, device: str, here: bool = True) -> tuple[str, str]:
    """Resolve ``auto``: CTranslate2 on a CPU where it is installed, transformers on a GPU.

    PyPI's CTranslate2 needs CUDA 12's own libraries on a GPU, which a
    PyTorch install does not bring; PyTorch in float16 is the sure path
    there. On a CPU with CTranslate2, torch is not even imported.
    ``here=False``: for another machine (a cluster's), whose GPUs are not checked here.
    """
    if engine not in ("auto", *ENGINES):
        raise ZhenError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")
    if not DEVICES.fullmatch(device):
        raise ZhenError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto")
    if device == "auto":
        device = "cuda" if _gpu_count(engine) else "cpu"
    if engine == "auto":
        engine = "transformers" if device.startswith("cuda") or not _has_ctranslate2() else "ctranslate2"
    if device.startswith("cuda") and here:
        count, who = _gpu_count(engine), "CTranslate2" if engine == "ctranslate2" else "torch"
        if not count:
            raise ZhenError(f"--device {device} asked for, but {who} sees no CUDA GPU; use --device cpu")
        if int(device.partition(":")[2] or 0) >= count:
            raise ZhenError(f"--device {device}: {who} sees {count} GPU(s), numbered from 0")
    return engine, device


def _gpu_count(engine: str) -> int:
    """CUDA GPUs the engine would see; CTranslate2 answers without importing torch."""
    if engine != "transformers" and _has_ctranslate2():
        count = import_ctranslate2().get_cuda_device_count()
        if engine == "ctranslate2" or not count:
            return count
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _has_ctranslate2() -> bool:
    try:
        import_ctranslate2()
    except ImportError:
        return False
    return True


def resolve_precision(kind: str, device: str, precision: str) -> str:
    """The weights' numeric type ``kind`` runs in on ``device`` for ``--precision``
    (``auto``: int8 with CTranslate2, float32 with transformers on a CPU; on
    a GPU int8_float16 and float16), checked before anything is loaded."""
    gpu = device.startswith("cuda")
    if kind == "ctranslate2":
        return ("int8_float16" if gpu else "int8") if precision == "auto" else precision
    if precision == "auto":
        return "float16" if gpu else "float32"
    if precision.startswith("int8"):
        raise ZhenError(f"--precision {precision} needs --engine ctranslate2")
    if precision != "float32" and not gpu:
        raise ZhenError(f"--precision {precision} needs a GPU (--device cuda) with this engine")
    return precision


class LazyEngine:
    """An engine that loads the model when it is first asked to decode: a run
    whose translations are all in the cache never loads it. What it is
    (name, device, precision: part of the cache key) is known before."""

    def __init__(self, kind: str, model: ModelInfo, tokenizer, device: str, precision: str, threads: int | None):
        self.name, self.device, self.precision = kind, device, resolve_precision(kind, device, precision)
        self.backend = settle().label if kind == "ctranslate2" and device == "cpu" else ""
        self._model, self._tokenizer, self._threads = model, tokenizer, threads
        self._engine: Engine | None = None

    def generate(self, batches: Iterable[Batch]) -> Iterator[list[Output]]:
        return self.loaded().generate(batches)

    def loaded(self) -> Engine:
        if self._engine is None:
            if self.name == "transformers":
                from .hf import TransformersEngine

                self._engine = TransformersEngine.load(
                    self._model.name, self._tokenizer, self.device, self.precision, self._threads
                )
            else:
                from .ct2 import CTranslate2Engine

                self._engine = CTranslate2Engine.load(
                    self._model, self._tokenizer, self.device, self.precision, self._threads
                )
            where = f"{self.device} ({self.backend})" if self.backend else self.device
            log.info("loaded %s: %s engine, %s, %s", self._model.name, self.name, where, self.precision)
        return self._engine
