"""Build a tiny MarianMT model with random weights, for tests and offline demos.

It has the layout of a real OPUS-MT directory (``config.json``, weights,
``source.spm``, ``target.spm``, ``vocab.json``, ``tokenizer_config.json``), so
everything that loads it runs the same code path as for
Helsinki-NLP/opus-mt-zh-en. Its translations are random English pieces: good
for testing plumbing and invariants, useless as translations.

    python tests/tiny_marian.py DIR [--max-positions N]

``build_opus_mt_shaped`` makes a random model with opus-mt-zh-en's exact
architecture instead, for speed benchmarks.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import sentencepiece as spm
import torch
from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

ROOT = Path(__file__).resolve().parent.parent
CHINESE_TEXT = ROOT / "corpus" / "xiaomi-ecosystem-interview.zh.txt"
# Extra Chinese so that common characters outside the sample are in the vocabulary.
EXTRA_CHINESE = "你好世界。今天天气很好！他说：“我们明天见。”这是一个测试？第一章 北京上海中国人民。"
ENGLISH_TEXT = """\
The company opened a new store in Shenzhen last year.
We believe that quality comes first and price comes second.
Every product must be tested before it reaches the customer.
He said that the supply chain is the hardest part of the work.
Our partners keep their independence and their own brands.
The market changes quickly, so we look five years ahead.
Users want fewer choices, but better ones.
This interview took place on the second day of the festival.
Water purifiers use reverse osmosis, which was once rare.
Design, sales channels and resources are shared with young firms.
"""


def build(
    out_dir: str | Path, max_positions: int = 128, max_length: int = 24, seed: int = 0, eos_bias: float = 9.0
) -> Path:
    """Write a tiny random MarianMT model to ``out_dir`` and return its path."""
    out_dir = Path(out_dir)
    chinese = CHINESE_TEXT.read_text(encoding="utf-8") + EXTRA_CHINESE
    vocab = _write_tokenizer(out_dir, chinese, ENGLISH_TEXT, (800, 150), max_positions)
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=max_positions,
        pad_token_id=pad,
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=pad,
        init_std=0.5,  # decisive random logits, so greedy decoding has no near-ties
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    # Let the decoder emit only English pieces, and end now and then, so the
    # output looks like (meaningless) English of varying length.
    english = _pieces(out_dir / "target.spm")
    with torch.no_grad():
        for piece, index in vocab.items():
            if piece not in english:
                model.final_logits_bias[0, index] = -1e4
        model.final_logits_bias[0, vocab["</s>"]] = eos_bias
        # As in every OPUS-MT model, <pad> (the decoder start) embeds as zeros;
        # CTranslate2 relies on it, starting the decoder from a zero vector.
        model.get_input_embeddings().weight[pad] = 0
    model.generation_config = GenerationConfig(
        num_beams=2,
        max_length=max_length,
        min_length=3,  # never empty
        pad_token_id=pad,
        eos_token_id=vocab["</s>"],
        forced_eos_token_id=vocab["</s>"],  # as OPUS-MT's generation configs have it
        decoder_start_token_id=pad,
        bad_words_ids=[[pad]],
    )
    model.save_pretrained(out_dir)
    return out_dir


# Helsinki-NLP/opus-mt-zh-en's config.json, less the weights' provenance.
OPUS_MT_ZH_EN_ARCHITECTURE = dict(
    vocab_size=65001,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
    activation_function="swish",
    max_position_embeddings=512,
    scale_embedding=True,
    share_encoder_decoder_embeddings=True,
    static_position_embeddings=True,
    normalize_before=False,
    pad_token_id=65000,
    eos_token_id=0,
    decoder_start_token_id=65000,
)


def build_opus_mt_shaped(out_dir: str | Path, chinese: str, english: str, seed: int = 0) -> Path:
    """A random-weight model shaped exactly like opus-mt-zh-en (about 300 MB).

    Its SentencePiece models are trained on ``chinese`` and ``english`` (8,000
    pieces each; the rest of the 65,001-entry vocabulary is filler), so
    sentences tokenize to realistic lengths.
    """
    out_dir = Path(out_dir)
    pad = OPUS_MT_ZH_EN_ARCHITECTURE["pad_token_id"]
    _write_tokenizer(out_dir, chinese, english, (8000, 8000), 512, pad_id=pad)
    torch.manual_seed(seed)
    model = MarianMTModel(MarianConfig(**OPUS_MT_ZH_EN_ARCHITECTURE))
    model.generation_config = GenerationConfig(
        num_beams=4,
        max_length=512,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        bad_words_ids=[[pad]],
    )
    model.save_pretrained(out_dir)
    return out_dir


def _write_tokenizer(
    out_dir: Path,
    chinese: str,
    english: str,
    vocab_sizes: tuple[int, int],
    max_positions: int,
    pad_id: int | None = None,
) -> dict[str, int]:
    """Train both SentencePiece models and write an OPUS-MT tokenizer; return
    the vocabulary (``<pad>`` last, at ``pad_id`` if given: filler fills the gap)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        _train_spm(chinese, out_dir / "source.spm", Path(tmp), vocab_size=vocab_sizes[0])
        _train_spm(english, out_dir / "target.spm", Path(tmp), vocab_size=vocab_sizes[1])
    vocab = _shared_vocab(out_dir / "source.spm", out_dir / "target.spm")
    if pad_id is not None:
        del vocab["<pad>"]
        while len(vocab) < pad_id:
            vocab[f"<unused{len(vocab)}>"] = len(vocab)
        vocab["<pad>"] = pad_id
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    MarianTokenizer(
        source_spm=str(out_dir / "source.spm"),
        target_spm=str(out_dir / "target.spm"),
        vocab=str(out_dir / "vocab.json"),
        source_lang="zh",
        target_lang="en",
        model_max_length=max_positions,
    ).save_pretrained(out_dir)
    return vocab


def _train_spm(text: str, target: Path, tmp: Path, vocab_size: int) -> None:
    corpus = tmp / f"{target.stem}.txt"
    corpus.write_text(text, encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp / target.stem),
        vocab_size=vocab_size,
        character_coverage=1.0,
        hard_vocab_limit=False,
        num_threads=2,
        minloglevel=2,
    )
    target.write_bytes((tmp / f"{target.stem}.model").read_bytes())


def _pieces(spm_path: Path) -> list[str]:
    processor = spm.SentencePieceProcessor(model_file=str(spm_path))
    return [
        processor.id_to_piece(i)
        for i in range(processor.get_piece_size())
        if not (processor.is_control(i) or processor.is_unknown(i))
    ]


def _shared_vocab(*spm_paths: Path) -> dict[str, int]:
    """OPUS-MT layout: ``</s>`` 0, ``<unk>`` 1, the pieces of both sides, ``<pad>`` last."""
    vocab = {"</s>": 0, "<unk>": 1}
    for path in spm_paths:
        for piece in _pieces(path):
            vocab.setdefault(piece, len(vocab))
    vocab["<pad>"] = len(vocab)
    return vocab


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="directory to write the model to")
    parser.add_argument("--max-positions", type=int, default=128, help="longest input in tokens")
    args = parser.parse_args()
    print(build(args.dir, max_positions=args.max_positions))
