"""The fast engine: CTranslate2 running a converted copy of the MarianMT model.

The converted vocabulary has no ``<pad>`` (the converter starts decoding with
``</s>`` instead, as Marian itself does), so nothing needs suppressing.
The model is converted once (``ct2-transformers-converter``'s code, float32
weights, lossless) into a ``ctranslate2/`` folder beside a model directory
(``models/opus-mt-zh-en`` → ``models/ctranslate2/``), or in the user's cache
for a hub id; ``$ZHEN_MODELS_DIR`` moves it. int8 or float16 is applied when
loading, so one converted copy serves every precision.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ZhenError
from ..model import ModelInfo, fingerprint, incomplete
from ..settings import conversions_dir
from .base import Batch, Output
from .cpu import calibrate, import_ctranslate2, settle

log = logging.getLogger(__name__)


class CTranslate2Engine:
    name = "ctranslate2"

    def __init__(self, translator, tokenizer, device: str, precision: str):
        self.translator = translator
        self.tokenizer = tokenizer
        self.device = device
        self.precision = precision
        self.backend = settle().label if device == "cpu" else ""

    @classmethod
    def load(cls, model: ModelInfo, tokenizer, device: str, precision: str, threads: int | None) -> CTranslate2Engine:
        try:
            ctranslate2 = import_ctranslate2()
        except ImportError:
            raise ZhenError("--engine ctranslate2 needs the ctranslate2 package: pip install ctranslate2") from None
        name = model.name
        converted = converted_model(name, model.fingerprint)
        kind, _, index = device.partition(":")
        cores = threads or os.cpu_count() or 1
        if kind == "cpu":
            calibrate(converted, cores)  # for the next runs: this one's backend is settled
        try:
            translator = ctranslate2.Translator(
                str(converted),
                device=kind,
                device_index=int(index or 0),
                compute_type=precision,
                # On a CPU, one single-threaded worker per core decoding its own
                # batch beats all cores on one batch (small matrices, little sync).
                inter_threads=1 if kind == "cuda" else cores,
                intra_threads=1 if kind == "cpu" else 0,
            )
        except (RuntimeError, ValueError) as err:  # e.g. float16 on a CPU without it
            raise ZhenError(f"CTranslate2 cannot run {name} on {device} in {precision}: {err}") from None
        return cls(translator, tokenizer, device, precision)

    def generate(self, batches: Iterable[Batch]) -> Iterator[list[Output]]:
        # Keep every worker busy: submit a few batches ahead, and a batch's
        # teacher-forced scoring (see _decoded) as soon as its outputs are
        # known, collecting it later; yield in order.
        ahead = 2 * self.translator.num_translators
        decoding: deque = deque()
        scoring: deque[_Decoded] = deque()
        for ids, request in batches:
            decoding.append(self._submit(ids, request))
            if len(decoding) >= ahead:
                scoring.append(self._decoded(*decoding.popleft()))
            while scoring and (scoring[0].ready() or len(scoring) > ahead):
                yield self._collect(scoring.popleft())
        while decoding:
            scoring.append(self._decoded(*decoding.popleft()))
        while scoring:
            yield self._collect(scoring.popleft())

    def _submit(self, ids: list[list[int]], request):
        source = [self.tokenizer.convert_ids_to_tokens(row) for row in ids]
        return (
            source,
            request,
            self.translator.translate_batch(
                source,
                beam_size=request.beams,
                min_decoding_length=request.min_new_tokens,
                max_decoding_length=request.max_new_tokens,
                no_repeat_ngram_size=request.no_repeat_ngram_size,
                repetition_penalty=request.repetition_penalty,
                length_penalty=request.length_penalty,
                suppress_sequences=[self.tokenizer.convert_ids_to_tokens(list(w)) for w in request.bad_words_ids]
                or None,
                return_scores=True,
                return_end_token=True,
                asynchronous=True,
            ),
        )

    def _decoded(self, source: list[list[str]], request, results) -> _Decoded:
        eos = self.tokenizer.eos_token
        results = _wait(results, self.device)
        hypotheses = [result.hypotheses[0] for result in results]
        finished = [bool(tokens) and tokens[-1] == eos for tokens in hypotheses]
        outputs = [tokens[:-1] if done else tokens for tokens, done in zip(hypotheses, finished, strict=True)]
        # The decoder's score is the mean log-probability per token under the
        # distribution it searched (with length_penalty=1): the model's own,
        # except after a repetition penalty. Then score the outputs under the
        # model in a teacher-forced pass (as costly as greedy decoding, so
        # only then); it scores </s> after every output.
        if request.repetition_penalty != 1 or request.no_repeat_ngram_size or request.length_penalty != 1:
            return _Decoded(outputs, finished, [], self.translator.score_batch(source, outputs, asynchronous=True))
        return _Decoded(outputs, finished, [result.scores[0] for result in results])

    def _collect(self, decoded: _Decoded) -> list[Output]:
        scores = decoded.scores
        if decoded.scoring:
            scored = zip(_wait(decoded.scoring, self.device), decoded.finished, strict=True)
            scores = [_mean(s.log_probs if done else s.log_probs[:-1]) for s, done in scored]
        return [
            Output(tuple(self.tokenizer.convert_tokens_to_ids(tokens)), score, done)
            for tokens, score, done in zip(decoded.outputs, scores, decoded.finished, strict=True)
        ]


@dataclass
class _Decoded:
    """A batch's outputs, with their scores or the scoring jobs that will give them."""

    outputs: list[list[str]]
    finished: list[bool]
    scores: list[float]
    scoring: list = field(default_factory=list)  # CTranslate2's asynchronous scoring results

    def ready(self) -> bool:
        return all(job.done() for job in self.scoring)


def _wait(jobs, device: str) -> list:
    try:
        return [job.result() for job in jobs]
    except RuntimeError as err:  # e.g. "Library libcublas.so.12 is not found"
        raise ZhenError(f"CTranslate2 failed on {device}: {err}; try --engine transformers") from None


def converted_model(name: str, model_fingerprint: str | None = None, damaged: Callable = incomplete) -> Path:
    """The CTranslate2 copy of model ``name``, converting it on first use;
    ``damaged(name, err)`` says what is wrong with a model that fails to convert.

    Named by the model's fingerprint (after the model's own name, for people
    looking in the folder), so a changed model is converted again and the
    same model reached by another path is not. Converting into a temporary
    directory and renaming it makes concurrent first uses safe: one rename
    wins, the other copy is discarded.
    """
    target = converted_path(name, model_fingerprint or fingerprint(name))
    root = target.parent
    if (target / "model.bin").is_file():
        return target
    ctranslate2 = import_ctranslate2()

    log.info("converting %s for CTranslate2 into %s (once)", name, target)
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=root))
    try:
        ctranslate2.converters.TransformersConverter(name).convert(str(scratch / "model"), force=True)
        try:
            os.rename(scratch / "model", target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
    except OSError as err:
        raise ZhenError(f"cannot convert {name} for CTranslate2 into {root}: {err.strerror or err}") from None
    except Exception as err:  # the converter loads the weights: a damaged file fails in any library's way
        raise ZhenError(damaged(name, err)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def converted_path(name: str, model_fingerprint: str) -> Path:
    """Where :func:`converted_model` keeps the CTranslate2 copy of model ``name``."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name.rstrip("/")).name).strip("-.")[:60] or "model"
    return conversions_dir(name) / f"{readable}-{model_fingerprint[:16]}"


def _mean(values) -> float:
    return sum(values) / len(values) if values else 0.0
