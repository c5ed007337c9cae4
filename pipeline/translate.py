"""Stage 2: translate sentences with a MarianMT model through `transformers`."""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import Translation
from .errors import ZhenError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Helsinki-NLP/opus-mt-zh-en"
MODEL_ENV_VAR = "ZHEN_MODEL"

# Where a sentence too long for the model is cut, best first: after sentence
# ends, after clause punctuation, at spaces; failing all, between characters.
_CUT_AFTER = ("。！？!?…", "；;", "，,、：:", " \t\u3000")


@dataclass(frozen=True)
class DecodingOptions:
    """How to run the model; ``None`` means the model's generation config."""

    beams: int | None = None
    batch_size: int = 16
    device: str = "auto"  # "cpu", "cuda", "cuda:1", ... or "auto"


def resolve_model(name: str | None = None) -> str:
    """The model to use: ``name``, else ``$ZHEN_MODEL``, else the default hub id."""
    return name or os.environ.get(MODEL_ENV_VAR) or DEFAULT_MODEL


class Translator:
    """A loaded MarianMT model and tokenizer, ready to translate sentences."""

    def __init__(self, model, tokenizer, name: str, options: DecodingOptions = DecodingOptions()):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.options = options
        # The longest input, in tokens with the end-of-sentence mark, that the
        # model's position embeddings cover.
        self.max_source_tokens = min(model.config.max_position_embeddings, tokenizer.model_max_length)
        # Splitting and batching both need token counts; count each text once.
        self.token_count = functools.lru_cache(maxsize=1 << 16)(self._count_tokens)

    @classmethod
    def load(cls, name: str | None = None, options: DecodingOptions = DecodingOptions()) -> Translator:
        """Load a MarianMT model from a hub id or a local directory."""
        name = resolve_model(name)
        device = _pick_device(options.device)
        model, tokenizer = _load_marian(name)
        model.to(device).eval()
        log.info("loaded %s on %s", name, device)
        return cls(model, tokenizer, name, options)

    def translate(self, sentences: Sequence[str], progress: bool | None = None) -> list[Translation]:
        """Translate each sentence; the result is in input order.

        Sentences longer than the model takes are split (see :func:`split_to_fit`)
        and their pieces' translations joined. ``progress=None`` shows a bar
        only on a terminal.
        """
        pieces: list[list[str]] = [
            split_to_fit(s.strip(), self.fits) if s.strip() else [] for s in sentences
        ]
        unique = list(dict.fromkeys(p for parts in pieces for p in parts))
        translated = dict(zip(unique, self._generate(unique, progress), strict=True))
        return [_join([translated[p] for p in parts]) for parts in pieces]

    def fits(self, text: str) -> bool:
        """Does ``text`` fit the model's input (end-of-sentence mark included)?"""
        return self.token_count(text) <= self.max_source_tokens

    def _count_tokens(self, text: str) -> int:
        # verbose=False: no warning for inputs over the limit; we split those.
        return len(self.tokenizer(prepare_source(text), verbose=False)["input_ids"])

    def _generate(self, texts: list[str], progress: bool | None) -> list[tuple[str, bool]]:
        """Translate ``texts`` in length-sorted batches; return (text, truncated)."""
        from tqdm import tqdm

        # Longest first: similar lengths share a batch (little padding), and a
        # batch that does not fit in memory fails at once, not at the end.
        order = sorted(range(len(texts)), key=lambda i: -self.token_count(texts[i]))
        results: list[tuple[str, bool]] = [("", False)] * len(texts)
        size = max(1, self.options.batch_size)
        with tqdm(total=len(texts), unit="sent", desc="translating", disable=_no_bar(progress)) as bar:
            for start in range(0, len(order), size):
                batch = order[start : start + size]
                for i, result in zip(batch, self._generate_batch([texts[i] for i in batch]), strict=True):
                    results[i] = result
                bar.update(len(batch))
        return results

    def _generate_batch(self, texts: list[str]) -> list[tuple[str, bool]]:
        import torch

        inputs = self.tokenizer([prepare_source(t) for t in texts], return_tensors="pt", padding=True)
        inputs = inputs.to(self.model.device)
        overrides = {} if self.options.beams is None else {"num_beams": self.options.beams}
        with torch.inference_mode():
            output = self.model.generate(**inputs, do_sample=False, **overrides)
        eos = self.model.generation_config.eos_token_id
        eos = set(eos) if isinstance(eos, list) else {eos}
        decoded = self.tokenizer.batch_decode(output, skip_special_tokens=True)
        # A row without an end-of-sentence token stopped at the length limit.
        return [
            (" ".join(text.split()), not any(int(t) in eos for t in row[1:]))
            for text, row in zip(decoded, output, strict=True)
        ]


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut ``text`` into pieces that each ``fit``, preferring clause boundaries.

    The pieces, concatenated, give back ``text`` exactly. Each cut is made at
    the best kind of boundary present (see ``_CUT_AFTER``), the one nearest
    the middle, so pieces stay balanced and few.
    """
    if len(text) <= 1 or fits(text):
        return [text]
    cut = _best_cut(text)
    return split_to_fit(text[:cut], fits) + split_to_fit(text[cut:], fits)


def _best_cut(text: str) -> int:
    middle = len(text) / 2
    for marks in _CUT_AFTER:
        cuts = [i + 1 for i, char in enumerate(text[:-1]) if char in marks]
        if cuts:
            return min(cuts, key=lambda cut: abs(cut - middle))
    return len(text) // 2


@functools.cache
def _punctuation_normalizer():
    from sacremoses import MosesPunctNormalizer

    return MosesPunctNormalizer()


def prepare_source(text: str) -> str:
    """Normalise a sentence the way OPUS-MT's training data was.

    OPUS-MT models were trained on text passed through Moses'
    replace-unicode-punctuation (，→, 。→. “→" ...) with whitespace squeezed;
    the tokenizer in `transformers` does not do this, so we do.
    """
    return " ".join(_punctuation_normalizer().replace_unicode_punct(text).split())


def _join(parts: list[tuple[str, bool]]) -> Translation:
    return Translation(
        text=" ".join(text for text, _ in parts if text),
        pieces=max(1, len(parts)),
        truncated=any(truncated for _, truncated in parts),
    )


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None hides the bar when stderr is not a terminal."""
    return None if progress is None else not progress


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ZhenError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ZhenError(f"--device {device} asked for, but torch sees no CUDA GPU; use --device cpu")
    return device


def _load_marian(name: str):
    hint = (
        f"`make model` downloads {DEFAULT_MODEL} into models/ (needs network once); "
        f"or pass --model DIR / set {MODEL_ENV_VAR} to a MarianMT directory"
    )
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if path.is_file():
            raise ZhenError(f"{name} is a file; --model wants a model directory or hub id; {hint}")
        if not path.is_dir():
            raise ZhenError(f"model directory {name} does not exist; {hint}")
        if not (path / "config.json").is_file():
            raise ZhenError(f"{name} is not a model directory (it has no config.json); {hint}")
        name = str(path)
    from transformers import AutoConfig, MarianMTModel, MarianTokenizer

    try:
        config = AutoConfig.from_pretrained(name)
    except (OSError, ValueError) as err:
        raise ZhenError(f"cannot load model {name!r} ({_first_line(err)}); {hint}") from None
    if config.model_type != "marian":
        raise ZhenError(f"{name} is a {config.model_type!r} model, not MarianMT; {hint}")
    try:
        tokenizer = MarianTokenizer.from_pretrained(name)
        model = MarianMTModel.from_pretrained(name)
    except (OSError, ValueError, TypeError, AssertionError) as err:
        # MarianTokenizer asserts on, or passes None for, missing .spm files.
        raise ZhenError(
            f"{name} is not a complete MarianMT model (it needs source.spm, target.spm, "
            f"vocab.json and weights): {_first_line(err) or type(err).__name__}"
        ) from None
    return model, tokenizer


def _looks_like_path(name: str) -> bool:
    """Hub ids look like ``org/name``; anything else with a slash is a path."""
    first = name.split("/", 1)[0]
    return (
        Path(name).exists()
        or name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or ("/" in name and Path(first).is_dir())  # models/opus-mt-zh-en
    )


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ""


def download(name: str, target: Path) -> None:
    """Fetch a MarianMT model from the hub and save it to ``target`` for offline use."""
    model, tokenizer = _load_marian(name)
    target.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(target)
    model.save_pretrained(target)
