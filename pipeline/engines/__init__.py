"""Engines run a MarianMT model on batches of token ids.

The translate stage does everything around them (normalising, splitting,
batching, caching, guarding against loops); an engine only turns a batch of
source token ids into output token ids with their log-probabilities. Two
engines run the same model directory: ``transformers`` (PyTorch, the
reference) and ``ctranslate2`` (a converted copy, int8 on CPU, several
times faster).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..model import ModelInfo

ENGINES = ("ctranslate2", "transformers")
PRECISIONS = ("auto", "float32", "float16", "bfloat16", "int8")


@dataclass(frozen=True)
class Request:
    """How to decode one batch."""

    beams: int
    min_new_tokens: int
    max_new_tokens: int
    no_repeat_ngram_size: int = 0  # 0: off
    repetition_penalty: float = 1.0  # 1: off


@dataclass(frozen=True)
class Output:
    """One decoded sentence."""

    ids: tuple[int, ...]  # output token ids, special tokens removed
    logprob: float  # mean log-probability per output token, end of sentence included
    finished: bool  # the model ended it, rather than the length limit


Batch = tuple[list[list[int]], Request]


class Engine(Protocol):
    name: str  # "transformers" or "ctranslate2"
    precision: str  # the weights' numeric type as run: "float32", "int8", ...
    device: str

    def generate(self, batches: Iterable[Batch]) -> Iterator[list[Output]]:
        """Decode each batch of source ids (each ending in ``</s>``), in order."""
        ...


def load_engine(kind: str, model: ModelInfo, tokenizer, device: str, precision: str,
                threads: int | None) -> Engine:
    """Load ``model`` (already checked by ``model.open_model``) into an engine."""
    if kind == "transformers":
        from .hf import TransformersEngine

        return TransformersEngine.load(model.name, tokenizer, device, precision, threads)
    from .ct2 import CTranslate2Engine

    return CTranslate2Engine.load(model, tokenizer, device, precision, threads)
