"""The aligner's English sentence encoder: its vectors against transformers'
own mean pooling, batching invariants, and models it cannot load."""

import json
import sqlite3

import numpy as np
import pytest
import tiny_encoder
import torch
from transformers import AutoModel, AutoTokenizer

from pipeline.encoder import SentenceEncoder
from pipeline.model import ModelUnavailable
from pipeline.run_align import CachedEncoder, KnownVectors, load_encoder
from pipeline.settings import similarity_model_name

SENTENCES = [
    "The doctor came home late at night.",
    "He ate rice.",
    "The physician arrived.",
    "",
    "He ate rice.",
    "A much longer sentence about the train, the station, the rain and the long wait for the night train home.",
]


@pytest.fixture(scope="module")
def random_encoder(tmp_path_factory):
    """A tiny encoder whose every layer does something (random weights)."""
    path = tmp_path_factory.mktemp("random-encoder")
    return tiny_encoder.build(path, tiny_encoder.words_of(SENTENCES), bag_of_words=False)


def transformers_mean_pooling(path, sentences, cls=False):
    """sentence-transformers' recipe, with transformers and PyTorch: the reference."""
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    with torch.inference_mode():
        batch = tokenizer(sentences, padding=True, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = hidden[:, 0] if cls else (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


def test_vectors_are_transformers_mean_pooling(random_encoder):
    texts = [s for s in SENTENCES if s]
    ours = SentenceEncoder(str(random_encoder)).embed(texts)
    reference = transformers_mean_pooling(random_encoder, texts)
    assert ours.shape == reference.shape
    assert np.all(np.sum(ours * reference, axis=1) > 0.99)  # int8 on CTranslate2 against float32 on PyTorch
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_cls_pooling_when_the_model_says_so(random_encoder, tmp_path):
    config = random_encoder / "1_Pooling" / "config.json"
    saved = config.read_text()
    try:
        config.write_text(json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
        texts = [s for s in SENTENCES if s]
        ours = SentenceEncoder(str(random_encoder)).embed(texts)
        assert np.all(np.sum(ours * transformers_mean_pooling(random_encoder, texts, cls=True), axis=1) > 0.99)
    finally:
        config.write_text(saved)


def test_batched_equals_one_at_a_time_order_kept_and_empty_is_zero(random_encoder):
    encoder = SentenceEncoder(str(random_encoder))
    together = encoder.embed(SENTENCES)
    alone = np.stack([encoder.embed([s])[0] for s in SENTENCES])
    assert np.allclose(together, alone, atol=2e-3)
    assert np.array_equal(together[1], together[4])  # a repeated sentence, embedded once
    assert not together[3].any()
    assert encoder.embed([]).shape[0] == 0


def test_synonyms_of_the_tiny_encoder_mean_the_same(tiny_sentence_encoder):
    vectors = SentenceEncoder(str(tiny_sentence_encoder)).embed(
        ["The doctor came.", "The physician arrived.", "The train left."]
    )
    assert vectors[0] @ vectors[1] > 0.999
    assert vectors[0] @ vectors[2] < 0.9


def test_a_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelUnavailable, match=r"does not exist.*make similarity-model"):
        SentenceEncoder(str(tmp_path / "absent"))


def test_a_translation_model_is_not_a_sentence_encoder(tiny_model):
    with pytest.raises(ModelUnavailable):
        SentenceEncoder(str(tiny_model))


def test_which_similarity_model(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZHEN_SIMILARITY_MODEL")
    assert similarity_model_name() == "sentence-transformers/all-MiniLM-L6-v2"
    (tmp_path / "models" / "all-MiniLM-L6-v2").mkdir(parents=True)
    (tmp_path / "models" / "all-MiniLM-L6-v2" / "config.json").write_text("{}")
    assert similarity_model_name() == "models/all-MiniLM-L6-v2"
    monkeypatch.setenv("ZHEN_SIMILARITY_MODEL", "from-env")
    assert similarity_model_name() == "from-env"
    assert similarity_model_name("given") == "given"


def test_vectors_are_cached_exactly_and_embedded_once(tiny_sentence_encoder, tmp_path, monkeypatch):
    cache = tmp_path / "cache.sqlite"
    first = load_encoder(str(tiny_sentence_encoder), cache=cache)
    vectors = first.embed(SENTENCES)
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == len(set(SENTENCES))
    again = load_encoder(str(tiny_sentence_encoder), cache=cache)
    monkeypatch.setattr(again.encoder, "embed", lambda sentences: pytest.fail(f"embedded {sentences} again"))
    assert np.array_equal(again.embed(SENTENCES), vectors)
    assert np.array_equal(again.embed(SENTENCES[::-1]), vectors[::-1])


def test_a_cache_from_before_vectors_gains_their_table(tiny_sentence_encoder, tiny_model, tmp_path):
    from pipeline.cache import TranslationCache

    cache = tmp_path / "old.sqlite"
    TranslationCache(cache, "model", "settings").db.close()  # a translation cache, as older zhen made it
    with sqlite3.connect(cache) as db:
        db.execute("DROP TABLE IF EXISTS vectors")
    encoder = load_encoder(str(tiny_sentence_encoder), cache=cache)
    assert encoder.embed(["He came."]).shape == (1, tiny_encoder.DIMENSION)


def test_a_document_whose_vectors_are_all_cached_needs_no_model_loaded(tiny_sentence_encoder, tmp_path):
    cache = tmp_path / "cache.sqlite"
    first = load_encoder(str(tiny_sentence_encoder), cache=cache, sentences=SENTENCES)
    vectors = first.embed(SENTENCES)
    again = load_encoder(str(tiny_sentence_encoder), cache=cache, sentences=SENTENCES[1:])
    assert isinstance(again, KnownVectors)
    assert np.array_equal(again.embed(SENTENCES[1:]), vectors[1:])
    new_sentence = load_encoder(str(tiny_sentence_encoder), cache=cache, sentences=[*SENTENCES, "He left."])
    assert isinstance(new_sentence, CachedEncoder)
