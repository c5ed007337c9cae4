import json
import shutil

import pytest

from conftest import SAMPLE
from pipeline.errors import ZhenError
from pipeline.segment import segment
from pipeline.translate import (
    DEFAULT_MODEL,
    DecodingOptions,
    Translator,
    prepare_source,
    resolve_model,
    split_to_fit,
)

SENTENCES = [s.text for s in segment(SAMPLE.read_text(encoding="utf-8"))]


def with_options(translator, **options):
    return Translator(translator.model, translator.tokenizer, translator.name, DecodingOptions(**options))


@pytest.mark.parametrize("options", [dict(beams=1, batch_size=7), dict(beams=3, batch_size=5)])
def test_batched_equals_one_by_one_and_keeps_order(translator, options):
    engine = with_options(translator, **options)
    batched = engine.translate(SENTENCES)
    one_by_one = [engine.translate([s])[0] for s in SENTENCES]
    assert batched == one_by_one
    assert len(batched) == len(SENTENCES)


def test_output_is_deterministic(translator):
    assert translator.translate(SENTENCES[:10]) == translator.translate(SENTENCES[:10])


def test_duplicates_and_order(translator):
    a, b = SENTENCES[2], SENTENCES[5]
    first = translator.translate([a, b, a])
    assert first[0] == first[2]
    assert translator.translate([b, a]) == [first[1], first[0]]


def test_empty_lines_are_not_sent_to_the_model(translator):
    out = translator.translate(["", "   ", SENTENCES[0]])
    assert [t.text for t in out[:2]] == ["", ""]
    assert out[0].pieces == 1 and not out[0].truncated
    assert out[2].text


def test_long_sentence_is_translated_whole_in_pieces_that_fit(translator):
    # 3,000 characters, far over the tiny model's 128-token limit.
    long_sentence = "，".join(SENTENCES[2].rstrip(".").split(", ") * 40)[:3000] + "。"
    assert len(long_sentence) > 2900 and not translator.fits(long_sentence)
    pieces = split_to_fit(long_sentence, translator.fits)
    assert "".join(pieces) == long_sentence  # no input dropped
    assert len(pieces) > 1 and all(translator.fits(p) for p in pieces)
    result = translator.translate([long_sentence])[0]
    assert result.pieces == len(pieces)
    # The joined translation is exactly the pieces' translations, in order.
    assert result.text == " ".join(t.text for t in translator.translate(pieces))


def test_split_to_fit_prefers_clause_ends_and_loses_nothing():
    text = "第一句很长很长。第二句也很长，还有逗号，更多内容；最后一部分没有标点符号但是很长很长很长"
    pieces = split_to_fit(text, lambda piece: len(piece) <= 16)
    assert "".join(pieces) == text
    assert all(len(p) <= 16 for p in pieces)
    assert pieces[0] == "第一句很长很长。"


def test_split_to_fit_cuts_between_characters_as_a_last_resort():
    text = "无" * 100
    pieces = split_to_fit(text, lambda piece: len(piece) <= 30)
    assert "".join(pieces) == text and all(len(p) <= 30 for p in pieces)


def test_source_is_normalised_like_opus_mt_training_data():
    assert prepare_source("“你好！”他说。然后，我们走了……") == '"你好!"他说. 然后,我们走了......'
    assert prepare_source("  ７月４日  ") == "7月4日"


def test_decoding_settings_come_from_the_generation_config(translator):
    assert translator.model.generation_config.num_beams == 2
    default = translator.translate(SENTENCES[:8])
    assert default == with_options(translator, beams=2).translate(SENTENCES[:8])


def test_truncation_is_reported(translator):
    # The tiny model stops at 24 tokens; its random output often hits that.
    out = translator.translate(SENTENCES)
    assert any(t.truncated for t in out)
    assert all(isinstance(t.truncated, bool) for t in out)


def test_resolve_model(monkeypatch):
    monkeypatch.delenv("ZHEN_MODEL", raising=False)
    assert resolve_model(None) == DEFAULT_MODEL
    monkeypatch.setenv("ZHEN_MODEL", "/srv/models/x")
    assert resolve_model(None) == "/srv/models/x"
    assert resolve_model("mine") == "mine"


def test_missing_model_directory(tmp_path):
    with pytest.raises(ZhenError, match="does not exist.*make model"):
        Translator.load(str(tmp_path / "nope"))


def test_directory_that_is_not_a_model(tmp_path):
    with pytest.raises(ZhenError, match="no config.json"):
        Translator.load(str(tmp_path))


def test_model_that_is_not_marian(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ZhenError, match="'bert' model, not MarianMT"):
        Translator.load(str(tmp_path))


def test_marian_directory_without_tokenizer_files(tiny_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "source.spm").unlink()
    with pytest.raises(ZhenError, match="not a complete MarianMT model"):
        Translator.load(str(broken))


def test_unknown_device(tiny_model):
    with pytest.raises(ZhenError, match="unknown device 'gpu'"):
        Translator.load(str(tiny_model), DecodingOptions(device="gpu"))


def test_cuda_requested_without_gpu(tiny_model):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ZhenError, match="no CUDA GPU"):
        Translator.load(str(tiny_model), DecodingOptions(device="cuda"))
