"""Build a tiny sentence-transformers encoder (BERT, mean pooling) for tests.

It has the layout of sentence-transformers/all-MiniLM-L6-v2's directory
(``config.json``, weights, ``vocab.txt`` and tokenizer files, ``modules.json``,
``1_Pooling/config.json``), so zhen loads and runs it as it would the real one.

Its weights are not all random: attention and feed-forward layers are all
but zero, so each token's output is its (normalised) word vector, and a sentence's vector
is the mean of its words' random vectors, a bag of words. Words given as
synonyms share a vector: the encoder then knows something a bag of the
words themselves does not, which is what the aligner's tests need to see.

    python tests/tiny_encoder.py DIR WORD...
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
DIMENSION = 256


def words_of(texts: Iterable[str]) -> list[str]:
    """The lower-cased words and punctuation marks of ``texts``, as BERT's tokenizer splits them."""
    return sorted({w for text in texts for w in re.findall(r"\w+|[^\w\s]", text.lower())})


def build(
    out_dir: str | Path,
    words: Iterable[str],
    synonyms: Iterable[tuple[str, str]] = (),
    seed: int = 0,
    bag_of_words: bool = True,
) -> Path:
    """Write the encoder to ``out_dir``; ``synonyms`` are pairs of words given
    the same vector. ``bag_of_words=False`` keeps every layer's random weights."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = list(synonyms)
    vocabulary = SPECIAL + sorted(set(words) | {w for pair in pairs for w in pair} - set(SPECIAL))
    (out_dir / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 256})
    )
    AutoTokenizer.from_pretrained(out_dir).save_pretrained(out_dir)  # adds tokenizer.json, as the hub's has

    config = BertConfig(
        vocab_size=len(vocabulary),
        hidden_size=DIMENSION,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=DIMENSION * 2,
        max_position_embeddings=256,
        position_embedding_type="absolute",  # CTranslate2's converter reads it; newer transformers dropped it
    )
    torch.manual_seed(seed)
    model = BertModel(config)  # with the (unused) pooler the real model has: transformers then loads it quietly
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if bag_of_words and "LayerNorm" not in name and "word_embeddings" not in name:
                # Attention, feed-forward, positions all but off: the word vectors pass through.
                # (Not zero: int8 quantization of an all-zero matrix breaks CTranslate2.)
                parameter.mul_(1e-3)
        vectors = model.embeddings.word_embeddings.weight
        index = {w: k for k, w in enumerate(vocabulary)}
        # [CLS], [SEP], unknown words, punctuation: no meaning
        vectors[[k for w, k in index.items() if w in SPECIAL or not w.isalnum()]] = 0.0
        for first, second in pairs:
            vectors[index[second]] = vectors[index[first]]
    model.save_pretrained(out_dir)
    (out_dir / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        )
    )
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    (out_dir / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": DIMENSION, "pooling_mode_mean_tokens": True})
    )
    return out_dir


if __name__ == "__main__":
    print(build(sys.argv[1], sys.argv[2:]))
