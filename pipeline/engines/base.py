"""What every engine shares: a decoding request, its output, and the engine's interface."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Request:
    """How to decode one batch."""

    beams: int
    min_new_tokens: int
    max_new_tokens: int
    no_repeat_ngram_size: int = 0  # 0: off
    repetition_penalty: float = 1.0  # 1: off
    length_penalty: float = 1.0  # beam search's length normalisation, as transformers defines it
    bad_words_ids: tuple[tuple[int, ...], ...] = ()  # token sequences never to output


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
    backend: str  # CTranslate2's CPU code path ("mkl-avx2", ...): it can change an int8 output; "" elsewhere

    def generate(self, batches: Iterable[Batch]) -> Iterator[list[Output]]:
        """Decode each batch of source ids (each ending in ``</s>``), in order."""
        ...
