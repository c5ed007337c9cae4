"""Stage 2: translate sentences with a MarianMT model.

What happens to the sentences of a document:

1. Segments with no Chinese in them (empty, punctuation, numbers, Latin
   script) are copied, not translated (:mod:`pipeline.prepare`).
2. The rest are normalised as OPUS-MT's training data was, and any too long
   for the model are split at clause punctuation (:mod:`pipeline.prepare`).
3. Each distinct piece is looked up in the translation cache; the others go
   to the engine in length-sorted batches under a token budget.
4. An output that loops ("come on, come on, come on") is decoded again with
   repeated n-grams blocked; what still loops is flagged, never hidden.
5. Each batch is stored in the cache as soon as it is done, so an
   interrupted run resumes where it stopped.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from .cache import NoCache, TranslationCache
from .data import Translation
from .engines import Engine, LazyEngine, Output, Request, choose_engine
from .errors import ZhenError
from .glossary import NO_GLOSSARY, Glossary
from .han import HAN
from .model import ModelInfo, open_model
from .prepare import copied, prepare_source, split_to_fit
from .protect import Masked, mask, restore
from .settings import cache_path, model_name

log = logging.getLogger(__name__)

# Output length limits are rounded up to a multiple of this many tokens, and
# only sentences with the same limits share a batch: each sentence then
# decodes exactly as it would alone, while batches stay large.
LENGTH_STEP = 8
# Part of every cache key: raise it when a change to the code (length steps,
# the loop guard's settings, normalisation) changes what the model is asked.
SETTINGS_VERSION = 2
# A DecodingOptions field that cannot change a translation, so is not part of the cache key.
SAME_OUTPUT = {"same_output": True}
# Bounds of the options: beyond a few dozen beams search only costs time
# (opus-mt uses 4); a batch of 65,536 tokens already takes gigabytes; more
# threads than cores only contend (and CTranslate2 aborts on absurd counts).
MAX_BEAMS = 32
MAX_BATCH_TOKENS = 1 << 16
MAX_THREADS = 1 << 10  # no machine's cores; each run checks its own (max_threads)


def max_threads() -> int:
    return os.cpu_count() or 1


# A looping output is decoded again with repeated 3-grams blocked and a mild penalty.
_GUARD_NGRAM, _GUARD_PENALTY = 3, 1.2
# A loop: the same 1-4 output tokens repeated this many times in a row.
_LOOP_REPEATS = {1: 4, 2: 3, 3: 3, 4: 3}


@dataclass(frozen=True)
class DecodingOptions:
    """How to run the model. Every field but those marked SAME_OUTPUT can
    change a translation, and so is part of the translation cache's key
    (:meth:`cache_key`): a new option is in the key by being here."""

    engine: str = "auto"  # "ctranslate2", "transformers", or auto (ctranslate2 if installed)
    beams: int | None = None  # None: the model's generation config (4 for opus-mt)
    batch_tokens: int = field(default=512, metadata=SAME_OUTPUT)  # source tokens per batch, padding included
    device: str = "auto"  # "cpu", "cuda", "cuda:1", ... or "auto"
    precision: str = "auto"  # int8 (ctranslate2) / float32 (transformers) on CPU, float16 on GPU
    threads: int | None = field(default=None, metadata=SAME_OUTPUT)  # CPU threads; None: all cores
    # Output length in tokens: at most max_length_ratio × source + max_extra_tokens
    # (a loop cannot run away), at least min_length_ratio × source (benchmarks
    # use it to give random-weight models realistic output lengths).
    max_length_ratio: float = 2.5
    max_extra_tokens: int = 10
    min_length_ratio: float = 0.0
    loop_guard: bool = True

    def cache_key(self, engine: Engine, beams: int) -> str:
        """The settings a translation was made with, as the cache stores them;
        ``auto`` choices as the engine resolved them (which GPU does not
        matter; which CPU code path does, where one is chosen)."""
        resolved = {
            "engine": engine.name,
            "device": engine.device.split(":")[0],
            "precision": engine.precision,
            "beams": beams,
        }
        settings = [
            f"{f.name}={resolved.get(f.name, getattr(self, f.name))}"
            for f in fields(self)
            if not f.metadata.get("same_output")
        ]
        return f"v{SETTINGS_VERSION}/" + "/".join(settings + ([f"backend={engine.backend}"] if engine.backend else []))


class Translator:
    """A model behind an engine, with its tokenizer and translation cache."""

    def __init__(
        self,
        engine: Engine,
        tokenizer,
        model: ModelInfo,
        options: DecodingOptions = DecodingOptions(),
        cache: str | Path | None = None,
        use_cache: bool = True,
        glossary: Glossary = NO_GLOSSARY,
    ):
        self.engine = engine
        # Terms are masked like placeholders: the cache holds the model's output
        # for the masked text, so it needs no glossary in its key (a term's
        # English form is put in after the cache, from the glossary of the run).
        self.glossary = glossary
        self.tokenizer = tokenizer
        self.model = model
        self.name = model.name
        self.options = options
        self.beams = options.beams or model.beams
        self.cache = (
            TranslationCache(cache_path(cache), model.fingerprint, options.cache_key(engine, self.beams))
            if use_cache
            else NoCache()
        )
        self.model_calls = 0  # batches sent to the engine, for tests and logs
        # Distinct sentences so far translated by the model / found in the cache, for the summary lines.
        self.stats: Counter[str] = Counter()
        self.encode = functools.lru_cache(maxsize=1 << 16)(self._encode)
        self._decoded: set[str] = set()  # the pieces of the last call that the model translated
        self._retried: set[str] = set()  # and those it decoded again after a loop
        # Pieces decoded on a cluster this run (:meth:`store`), and those decoded again there.
        self._decoded_elsewhere: set[str] = set()
        self._retried_elsewhere: set[str] = set()

    @classmethod
    def load(
        cls,
        name: str | None = None,
        options: DecodingOptions = DecodingOptions(),
        cache: str | Path | None = None,
        use_cache: bool = True,
        glossary: Glossary = NO_GLOSSARY,
        here: bool = True,
    ) -> Translator:
        """Load a MarianMT model (hub id or directory; see settings.model_name) into the chosen engine.

        ``here=False``: the engine will run elsewhere (on a cluster), its
        device and threads not this machine's: only the tokenizer is used here.
        """
        _check_options(options, here)
        kind, device = choose_engine(options.engine, options.device, here)
        model, tokenizer = open_model(model_name(name))
        engine = LazyEngine(kind, model, tokenizer, device, options.precision, options.threads)
        return cls(engine, tokenizer, model, options, cache, use_cache, glossary)

    def translate(self, sentences: Sequence[str], progress: bool | None = None) -> list[Translation]:
        """Translate each sentence; the result is in input order.

        ``progress=None`` shows a bar only on a terminal.
        """
        plans = [self._plan(s) for s in sentences]
        outputs = self._outputs(self._pieces_of(plans), progress)
        for plan in {plan for plan in plans if isinstance(plan, _Pieces)}:
            self.stats["translated" if any(p in self._decoded for p in plan.pieces) else "cached"] += 1
            self.stats["retried"] += any(p in self._retried for p in plan.pieces)
        return [plan if isinstance(plan, Translation) else self._join(plan, outputs) for plan in plans]

    def batches_to_decode(self, documents: Sequence[Sequence[str]]) -> list[list[list[str]]]:
        """For each document's sentences, the batches a local run translating
        them document by document would send to the engine: of the pieces
        that neither the cache nor an earlier document has. (A cluster
        decodes exactly these, so its translations are a local run's.)"""
        seen: set[str] = set()
        batches = []
        for sentences in documents:
            pieces = [p for p in self._pieces_of([self._plan(s) for s in sentences]) if p not in seen]
            seen.update(pieces)
            found = self.cache.get(pieces)
            batches.append(self._batches([p for p in pieces if p not in found]))
        return batches

    def decode(self, pieces: Sequence[str]) -> Iterator[tuple[dict[str, Output], set[str]]]:
        """The model's outputs for ``pieces``, batch by batch, with the loop
        guard: a batch's final outputs, and those of them decoded again after a loop.

        Looping outputs are held back and decoded again together, once, at
        the end (one that still loops is flagged, not retried).
        """
        looping: list[str] = []
        for batch, results in self.decode_batches(self._batches(list(pieces))):
            done = dict(zip(batch, results, strict=True))
            again = self.looping(done)
            looping += again
            yield {piece: out for piece, out in done.items() if piece not in again}, set()
        for batch, results in self.decode_batches(self.guard_batches(looping), guard=True):
            yield dict(zip(batch, results, strict=True)), set(batch)

    def decode_batches(self, batches: list[list[str]], guard: bool = False) -> Iterator[tuple[list[str], list[Output]]]:
        """Each batch as one call of the engine; ``guard``: with repeats blocked."""
        if not batches:  # not even the engine loaded
            return
        requests = ((self._ids(batch), self._request(batch[0], guard)) for batch in batches)
        self.model_calls += len(batches)
        yield from zip(batches, self.engine.generate(requests), strict=True)

    def looping(self, outputs: dict[str, Output]) -> list[str]:
        """The pieces whose output loops, for the guard to decode again (none with the guard off)."""
        return [piece for piece, out in outputs.items() if self.options.loop_guard and self._loops(piece, out)]

    def guard_batches(self, looping: list[str]) -> list[list[str]]:
        return self._batches(looping, guard=True)

    def store(self, outputs: dict[str, Output], retried: set[str]) -> None:
        """Outputs decoded elsewhere (on a cluster) into the cache, counted
        as this run's translations in the summary lines."""
        self.cache.put(outputs)
        self._decoded_elsewhere.update(outputs)
        self._retried_elsewhere.update(retried)

    def _pieces_of(self, plans: Sequence[Translation | _Pieces]) -> list[str]:
        return list(dict.fromkeys(p for plan in plans if isinstance(plan, _Pieces) for p in plan.pieces))

    def fits(self, text: str) -> bool:
        """Does ``text`` fit the model's input (end-of-sentence mark included)?"""
        return len(self.encode(text)) <= self.model.max_tokens

    def _encode(self, text: str) -> tuple[int, ...]:
        # verbose=False: no warning for inputs over the limit; we split those.
        return tuple(self.tokenizer(prepare_source(text), verbose=False)["input_ids"])

    def _plan(self, sentence: str) -> Translation | _Pieces:
        """A copied translation, or the pieces the model must translate, its
        placeholders, markup and glossary terms masked (:mod:`pipeline.protect`)."""
        text = sentence.strip()
        if copy := copied(text):
            return copy
        masked = mask(text, terms=[(start, end, term.target) for start, end, term in self.glossary.find(text)])
        if not masked.text:  # codes only: nothing for the model
            return Translation(text, copied=True)
        if not HAN.search(masked.text):  # glossary terms and codes: the glossary has said it all
            return Translation(restore(prepare_source(masked.text), masked)[0])
        return _Pieces(masked, tuple(split_to_fit(masked.text, self.fits, self._token_starts)))

    def _token_starts(self, text: str) -> list[int]:
        """Where the model's source tokens start in ``text`` (none if unsure)."""
        # SentencePiece normalises (NFKC: Ｘ→X); find its pieces in the
        # normalised text, where each character still stands for one of text's.
        normal = [unicodedata.normalize("NFKC", char) for char in text]
        if any(len(char) != 1 for char in normal):
            return []
        normal_text = "".join(normal)
        starts, offset = [], 0
        for piece in self.tokenizer.spm_source.encode(text, out_type=str):
            surface = piece.replace("\u2581", " ").strip()  # ▁ marks a space
            if not surface:
                continue
            found = normal_text.find(surface, offset)
            if found < 0:
                return []
            starts.append(found)
            offset = found + len(surface)
        return [s for s in starts if 0 < s < len(text)]

    def _outputs(self, pieces: list[str], progress: bool | None) -> dict[str, Output]:
        """The model's output for each piece: from the cache, else translated and stored."""
        from tqdm import tqdm

        outputs = self.cache.get(pieces)
        missing = [p for p in pieces if p not in outputs]
        # Pieces decoded elsewhere count once, as a local run counts them:
        # a later document that has them again found them in the cache.
        self._decoded = set(missing) | (self._decoded_elsewhere & set(pieces))
        self._retried = self._retried_elsewhere & set(pieces)
        self._decoded_elsewhere -= self._decoded
        self._retried_elsewhere -= self._retried
        log.debug(
            "%d of %d sentences (or pieces of long ones) found in the translation cache", len(outputs), len(pieces)
        )
        with tqdm(
            total=len(pieces), initial=len(outputs), unit="sentence", desc="translating", disable=_no_bar(progress)
        ) as bar:
            for done, retried in self.decode(missing):
                self.cache.put(done)  # batch by batch: an interrupted run resumes here
                outputs.update(done)
                self._retried |= retried
                bar.update(len(done))
        if self._retried:
            log.debug("decoded %d looping outputs again with repeats blocked", len(self._retried))
        return outputs

    def _batches(self, pieces: list[str], guard: bool = False) -> list[list[str]]:
        """Length-sorted batches of at most ``batch_tokens`` tokens, padding
        included, each of pieces with the same length limits.

        Longest first: similar lengths share a batch (little padding), and a
        batch too big for memory fails at once, not at the end.
        """
        batches: list[list[str]] = []
        for piece in sorted(pieces, key=lambda p: (-self._request(p).max_new_tokens, -len(self.encode(p)))):
            # The first piece of a batch is its longest: rows × it = padded size.
            if (
                batches
                and self._request(piece, guard) == self._request(batches[-1][0], guard)
                and (len(batches[-1]) + 1) * len(self.encode(batches[-1][0])) <= self.options.batch_tokens
            ):
                batches[-1].append(piece)
            else:
                batches.append([piece])
        return batches

    def _ids(self, batch: list[str]) -> list[list[int]]:
        return [list(self.encode(p)) for p in batch]

    def _request(self, piece: str, guard: bool = False) -> Request:
        """Decoding settings for ``piece``: the model's own (its generation
        config), length limits relative to its length; with ``guard``, repeats
        blocked (3-grams, or the model's own stricter limit) and penalised."""
        o, m, tokens = self.options, self.model, len(self.encode(piece))
        # The decoder start token takes one of the model's positions.
        most = min(m.max_tokens - 1, _round_up(o.max_length_ratio * tokens + o.max_extra_tokens))
        least = min(most, max(m.min_new_tokens, _round_up(o.min_length_ratio * tokens)))
        no_repeat, penalty = m.no_repeat_ngram_size, m.repetition_penalty
        if guard:
            no_repeat, penalty = min(no_repeat or _GUARD_NGRAM, _GUARD_NGRAM), max(penalty, _GUARD_PENALTY)
        return Request(self.beams, least, most, no_repeat, penalty, m.length_penalty, m.bad_words_ids)

    def _loops(self, source: str, output: Output) -> bool:
        """Does the output repeat itself where the source does not (哈哈哈 may)?"""
        return has_loop(output.ids) and not _repeats_itself(prepare_source(source))

    def _decode(self, output: Output) -> str:
        return " ".join(self.tokenizer.decode(output.ids, skip_special_tokens=True).split())

    def _join(self, plan: _Pieces, outputs: dict[str, Output]) -> Translation:
        pieces = plan.pieces
        parts = [outputs[p] for p in pieces]
        texts = [self._decode(out) for out in parts]
        lengths = [max(1, len(out.ids) + out.finished) for out in parts]
        text, repaired = restore(" ".join(t for t in texts if t), plan.masked)
        return Translation(
            text=text,
            repaired=repaired,
            pieces=max(1, len(parts)),
            truncated=any(not out.finished for out in parts),
            logprob=round(sum(out.logprob * n for out, n in zip(parts, lengths, strict=True)) / sum(lengths), 4),
            looped=any(self._loops(p, out) for p, out in zip(pieces, parts, strict=True)),
        )


@dataclass(frozen=True)
class _Pieces:
    """What the model must translate of a sentence: its masked text, in pieces that fit."""

    masked: Masked
    pieces: tuple[str, ...]


def _round_up(tokens: float) -> int:
    return LENGTH_STEP * math.ceil(tokens / LENGTH_STEP)


def has_loop(ids: Sequence[int]) -> bool:
    """The same 1-4 tokens repeated in a row (4 times for one token, 3 for more)."""
    for n, repeats in _LOOP_REPEATS.items():
        span = n * repeats
        for start in range(len(ids) - span + 1):
            gram = ids[start : start + n]
            if all(ids[start + k * n : start + (k + 1) * n] == gram for k in range(1, repeats)):
                return True
    return False


def _repeats_itself(source: str) -> bool:
    """哈哈哈哈, 对对对, "......": a source that repeats itself may be echoed."""
    return re.search(r"(.{1,3})\1{2,}", source) is not None


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None hides the bar when stderr is not a terminal."""
    return None if progress is None else not progress


def _check_options(options: DecodingOptions, here: bool = True) -> None:
    for name, value, most in (
        ("beams", options.beams, MAX_BEAMS),
        ("batch-tokens", options.batch_tokens, MAX_BATCH_TOKENS),
        ("threads", options.threads, max_threads() if here else MAX_THREADS),
    ):
        if value is not None and not 1 <= value <= most:
            raise ZhenError(f"--{name} must be from 1 to {most}, not {value}")
