"""A model's own decoding settings (generation_config.json) are honoured by
both engines: tiny models whose configs set each one."""

import json
import shutil
from collections import Counter

import pytest
from conftest import ENGINES

from pipeline.translate import DecodingOptions, Translator

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "小米生态链企业的产品覆盖了很多品类。",
    "他说这件事情需要再讨论一下。",
    "我们希望来年能做得更好。",
    "这是一个非常长的句子，里面有很多很多的内容，需要翻译成英文。",
]


def with_settings(tiny_model, tmp_path, **settings):
    """A copy of the tiny model whose generation config also sets ``settings``."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    path = model / "generation_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **settings}), encoding="utf-8")
    return model


def outputs(model, engine, **options):
    translator = Translator.load(
        str(model),
        DecodingOptions(engine=engine, device="cpu", precision="float32", loop_guard=False, **options),
        use_cache=False,
    )
    plans = [translator._plan(s) for s in SENTENCES]
    pieces = [p for plan in plans for p in plan.pieces]
    found = translator._outputs(pieces, progress=False)
    return [found[p].ids for p in pieces], translator


@pytest.mark.parametrize("engine", ENGINES)
def test_no_repeat_ngram_size_and_min_and_max_length(tiny_model, tmp_path, engine):
    model = with_settings(tiny_model, tmp_path, no_repeat_ngram_size=1, min_length=6, max_length=12)
    ids, _ = outputs(model, engine, beams=1, max_length_ratio=100.0)
    for row in ids:
        assert len(set(row)) == len(row)  # no token twice
        assert 5 <= len(row) <= 11  # lengths count the decoder start token


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_words_are_never_output(tiny_model, tmp_path, engine):
    before, _ = outputs(tiny_model, engine, beams=1)
    common = Counter(t for row in before for t in row).most_common(2)
    banned = [token for token, _ in common]
    model = with_settings(tiny_model, tmp_path, bad_words_ids=[[banned[0]], [banned[1]]])
    after, _ = outputs(model, engine, beams=1)
    assert not any(token in row for row in after for token in banned)


def test_a_repetition_penalty_changes_greedy_output_alike_in_both_engines(tiny_model, tmp_path):
    model = with_settings(tiny_model, tmp_path, repetition_penalty=3.0)
    results = {engine: outputs(model, engine, beams=1)[0] for engine in ENGINES}
    assert results["ctranslate2"] == results["transformers"]  # float32 greedy: exactly
    assert results["transformers"] != outputs(tiny_model, "transformers", beams=1)[0]  # the setting did something


@pytest.mark.parametrize("engine", ENGINES)
def test_a_negative_length_penalty_makes_beam_search_prefer_short_outputs(tiny_model, tmp_path, engine):
    # The engines count lengths a little differently, so beam outputs are compared per engine.
    model = with_settings(tiny_model, tmp_path, length_penalty=-2.0)
    before = [len(row) for row in outputs(tiny_model, engine, beams=2)[0]]
    after = [len(row) for row in outputs(model, engine, beams=2)[0]]
    assert all(a <= b for a, b in zip(after, before, strict=True)) and sum(after) < sum(before)


def test_the_models_settings_are_in_what_the_cache_keys_on(tiny_model, tmp_path):
    # The cache is keyed by the model's fingerprint, which covers generation_config.json.
    model = with_settings(tiny_model, tmp_path, repetition_penalty=3.0)
    _, plain = outputs(tiny_model, "ctranslate2", beams=1)
    _, changed = outputs(model, "ctranslate2", beams=1)
    assert plain.model.fingerprint != changed.model.fingerprint
