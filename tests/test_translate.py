import json
import shutil
from dataclasses import replace

import pytest
from conftest import SAMPLE

from pipeline.data import Translation
from pipeline.engines import Output
from pipeline.errors import ZhenError
from pipeline.prepare import prepare_source, split_to_fit
from pipeline.score import score
from pipeline.segment import segment
from pipeline.settings import DEFAULT_MODEL, model_name
from pipeline.translate import DecodingOptions, Translator, has_loop

SENTENCES = [s.text for s in segment(SAMPLE.read_text(encoding="utf-8"))]


def with_options(translator, **options):
    """The same loaded engine with other decoding options, and no cache."""
    return Translator(
        translator.engine, translator.tokenizer, translator.model, DecodingOptions(**options), use_cache=False
    )


# What batching promises (README, "Batching"): the same settings for every
# sentence, so the same translation batched or alone wherever the arithmetic
# is the same up to float32 rounding and the model's choice is not a
# near-tie; elsewhere (int8, beam search) the same up to rounding.


@pytest.fixture(scope="module")
def float32_engines(tiny_model, translators):
    fast = Translator.load(
        str(tiny_model), DecodingOptions(engine="ctranslate2", device="cpu", precision="float32"), use_cache=False
    )
    return {"transformers": translators["transformers"], "ctranslate2": fast}


def greedy_margins(reference, sentences):
    """The gap, in log-probability, between the model's best and second-best
    token at each step of its greedy outputs (float32, one sentence at a time)."""
    import torch

    model, margins = reference.engine.loaded().model, []
    for sentence, output in zip(
        sentences, with_options(reference, beams=1, loop_guard=False).translate(sentences), strict=True
    ):
        source = torch.tensor([list(reference.encode(sentence))])
        ids = reference.tokenizer(text_target=output.text)["input_ids"][:-1]
        decoder = torch.tensor([[model.config.decoder_start_token_id, *ids]])
        with torch.inference_mode():
            logits = model(input_ids=source, decoder_input_ids=decoder).logits[0].log_softmax(-1)
        top = logits.topk(2).values
        margins += (top[:, 0] - top[:, 1]).tolist()
    return margins


@pytest.mark.parametrize("engine", ["transformers", "ctranslate2"])
@pytest.mark.parametrize("batch_tokens", [64, 40])
def test_float32_greedy_is_the_same_batched_or_alone(float32_engines, engine, batch_tokens):
    sentences = [s for s in SENTENCES if float32_engines[engine].fits(s)]
    # The promise holds where no two candidates are within rounding of each
    # other; float32 rounding is about 1e-6, the tiny model's margins far larger.
    assert min(greedy_margins(float32_engines["transformers"], sentences[:20])) > 1e-4
    greedy = with_options(float32_engines[engine], beams=1, batch_tokens=batch_tokens)
    batched = greedy.translate(sentences)
    assert greedy.model_calls > 1  # several batches, not one
    one_by_one = [greedy.translate([s])[0] for s in sentences]
    assert [replace(t, logprob=None) for t in batched] == [replace(t, logprob=None) for t in one_by_one]
    assert [t.logprob for t in batched] == pytest.approx([t.logprob for t in one_by_one], abs=1e-4)


def test_int8_scores_the_same_in_a_batch_and_alone(translators):
    """int8 with CTranslate2: batching changes the arithmetic only by rounding
    (teacher-forced scores of the same outputs), whatever the CPU's kernels."""
    translator = translators["ctranslate2"]
    sentences = [s for s in SENTENCES if translator.fits(s)][:24]
    outputs = with_options(translator, beams=1).translate(sentences)
    tokens = [translator.tokenizer.convert_ids_to_tokens(list(translator.encode(s))) for s in sentences]
    targets = [
        translator.tokenizer.convert_ids_to_tokens(translator.tokenizer(text_target=t.text)["input_ids"][:-1])
        for t in outputs
    ]
    scorer = translator.engine.loaded().translator
    batched = scorer.score_batch(tokens, targets, max_batch_size=8)
    alone = [scorer.score_batch([s], [t])[0] for s, t in zip(tokens, targets, strict=True)]
    for b, a in zip(batched, alone, strict=True):
        assert b.tokens == a.tokens
        assert b.log_probs == pytest.approx(a.log_probs, abs=1e-3)


def test_int8_greedy_differs_alone_only_at_near_ties(translators):
    """Where int8 greedy decoding picks another token batched than alone, the
    two tokens were tied to within rounding (int8 weights make exact ties common)."""
    translator = with_options(translators["ctranslate2"], beams=1, batch_tokens=40, loop_guard=False)
    sentences = [s for s in SENTENCES if translator.fits(s)]
    batched = translator._outputs(sentences, progress=False)
    scorer, tokenizer = translator.engine.loaded().translator, translator.tokenizer
    for sentence in sentences:
        alone = translator._outputs([sentence], progress=False)[sentence]
        if alone.ids == batched[sentence].ids:
            continue
        step = next(k for k, (a, b) in enumerate(zip(alone.ids, batched[sentence].ids, strict=False)) if a != b)
        source = tokenizer.convert_ids_to_tokens(list(translator.encode(sentence)))
        scores = [
            scorer.score_batch([source], [tokenizer.convert_ids_to_tokens(list(out.ids[: step + 1]))])[0].log_probs[
                step
            ]
            for out in (alone, batched[sentence])
        ]
        assert abs(scores[0] - scores[1]) < 1e-3, (sentence, step, scores)


@pytest.mark.parametrize("options", [dict(beams=1, batch_tokens=64), dict(beams=3, batch_tokens=40)])
def test_batched_output_keeps_order_and_duplicates(translator, options):
    engine = with_options(translator, **options)
    doubled = SENTENCES[:12] + SENTENCES[:12]
    out = engine.translate(doubled)
    assert len(out) == len(doubled) and out[:12] == out[12:]
    assert engine.translate(SENTENCES[:12]) == out[:12]  # the same batches, the same outputs


def test_batches_respect_the_token_budget(translator):
    engine = with_options(translator, batch_tokens=100)
    batches = engine._batches(SENTENCES)
    assert sorted(p for b in batches for p in b) == sorted(SENTENCES)
    for batch in batches:
        lengths = [len(engine.encode(p)) for p in batch]
        assert lengths == sorted(lengths, reverse=True)  # longest first: it sets the padding
        assert len(batch) == 1 or len(batch) * lengths[0] <= 100


def test_output_is_deterministic(translator):
    assert translator.translate(SENTENCES[:10]) == translator.translate(SENTENCES[:10])


def test_duplicates_and_order(translator):
    a, b = SENTENCES[2], SENTENCES[5]
    first = translator.translate([a, b, a])
    assert first[0] == first[2]
    assert translator.translate([b, a]) == [first[1], first[0]]


def test_segments_without_chinese_are_copied_without_calling_the_model(translator):
    engine = with_options(translator)
    segments = ["", "   ", "……", "2019", "３．１４%", "iPhone X", "Hello, world."]
    out = engine.translate(segments)
    assert engine.model_calls == 0
    assert [t.text for t in out] == ["", "", "......", "2019", "3.14%", "iPhone X", "Hello, world."]
    assert all(t.copied and t.logprob is None and t.pieces == 1 for t in out)
    assert score("2019", out[3]) == (1.0, ())


def test_confidence_comes_from_the_model(translator):
    out = translator.translate(SENTENCES[:6])
    assert all(t.logprob is not None and -30 < t.logprob <= 0 for t in out)


def test_both_engines_give_the_same_greedy_output_and_scores_at_full_precision(tiny_model, translators):
    options = dict(beams=1, loop_guard=False)
    reference = with_options(translators["transformers"], **options).translate(SENTENCES[:8])
    converted = Translator.load(
        str(tiny_model),
        DecodingOptions(engine="ctranslate2", device="cpu", precision="float32", **options),
        use_cache=False,
    )
    fast = converted.translate(SENTENCES[:8])
    assert [t.text for t in fast] == [t.text for t in reference]
    assert [t.logprob for t in fast] == pytest.approx([t.logprob for t in reference], abs=1e-3)


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


def test_text_without_punctuation_is_cut_between_tokens(translator):
    text = "小米生态链产品帮助创业企业聚集于产品本身" * 30  # no punctuation or spaces at all
    assert not translator.fits(text)
    pieces = split_to_fit(text, translator.fits, translator._token_starts)
    assert "".join(pieces) == text and len(pieces) > 1
    assert all(translator.fits(p) for p in pieces)
    # Every cut falls where one of the whole text's tokens starts: none is cut in two.
    boundaries = set(translator._token_starts(text))
    cuts = [sum(map(len, pieces[:i])) for i in range(1, len(pieces))]
    assert boundaries and all(cut in boundaries for cut in cuts)
    assert set(cuts) - set(range(0, len(text), 20))  # not simply every repetition


def test_source_is_normalised_like_opus_mt_training_data():
    assert prepare_source("“你好！”他说。然后，我们走了……") == '"你好!"他说. 然后,我们走了......'
    assert prepare_source("  ７月４日  ") == "7月4日"


def test_decoding_settings_come_from_the_generation_config(translator):
    assert translator.beams == 2  # the tiny model's generation config says 2
    default = translator.translate(SENTENCES[:8])
    assert default == with_options(translator, beams=2).translate(SENTENCES[:8])


def test_truncation_is_reported(translator):
    # The tiny model stops at 24 tokens; its random output often hits that.
    out = translator.translate(SENTENCES)
    assert any(t.truncated for t in out)
    assert all(isinstance(t.truncated, bool) for t in out)


def pieces_of(translator, sentences):
    return list(dict.fromkeys(p for s in sentences for p in split_to_fit(s, translator.fits)))


def test_output_length_is_capped_relative_to_the_source(translator):
    capped = with_options(translator, max_length_ratio=0.5, max_extra_tokens=2)
    pieces = pieces_of(capped, SENTENCES[:10])
    outputs = capped._outputs(pieces, progress=False)
    for piece in pieces:
        limit = len(capped.encode(piece)) * 0.5 + 2
        assert len(outputs[piece].ids) <= limit + 8  # rounded up to whole steps of 8 tokens
    assert any(not out.finished for out in outputs.values())


# --- the loop guard ---------------------------------------------------------------


def test_loop_detection():
    assert has_loop([5, 5, 5, 5]) and not has_loop([5, 5, 5])
    assert has_loop([1, 2, 1, 2, 1, 2]) and not has_loop([1, 2, 1, 2])
    assert has_loop([7, 1, 2, 3, 1, 2, 3, 1, 2, 3, 9])
    assert not has_loop(list(range(40)))


def test_looping_outputs_are_decoded_again_with_repeats_blocked(translator):
    # The tiny random model loops often ("........vvv").
    unguarded = with_options(translator, loop_guard=False)
    raw = unguarded._outputs(pieces_of(unguarded, SENTENCES), progress=False)
    looping = [s for s, out in raw.items() if unguarded._loops(s, out)]
    assert looping, "the tiny model should loop on some sentences"
    guarded = with_options(translator)
    fixed = guarded._outputs(looping, progress=False)
    assert guarded.model_calls > len(guarded._batches(looping))  # second tries happened
    for piece in looping:
        assert fixed[piece].ids != raw[piece].ids
        assert not has_loop(fixed[piece].ids)  # 3-grams blocked: no loop is left


def test_the_loops_of_all_batches_are_decoded_again_together_once(translator):
    unguarded = with_options(translator, loop_guard=False, batch_tokens=64)
    pieces = pieces_of(unguarded, SENTENCES)
    raw = unguarded._outputs(pieces, progress=False)
    looping = [p for p, out in raw.items() if unguarded._loops(p, out)]
    batches = unguarded._batches(pieces)
    assert len({i for i, batch in enumerate(batches) for p in batch if p in looping}) > 1  # loops in several batches
    guarded = with_options(translator, batch_tokens=64)
    guarded._outputs(pieces, progress=False)
    retries = len(guarded._batches(looping, guard=True))
    assert guarded.model_calls == len(batches) + retries  # one pass, then the loops together
    assert retries < len({i for i, batch in enumerate(batches) for p in batch if p in looping})


def test_sentences_decoded_again_are_counted_as_sentences(translator):
    plans = [p for p in (translator._plan(s) for s in dict.fromkeys(SENTENCES)) if not isinstance(p, Translation)]
    unguarded = with_options(translator, loop_guard=False)
    raw = unguarded._outputs([p for plan in plans for p in plan.pieces], progress=False)
    expected = sum(any(unguarded._loops(p, raw[p]) for p in plan.pieces) for plan in plans)
    guarded = with_options(translator)
    guarded.translate(SENTENCES, progress=False)
    assert guarded.stats["retried"] == expected > 0  # as the summary line counts everything else


def test_a_source_that_repeats_itself_may_be_echoed(translator):
    guarded = with_options(translator)
    out = Output(ids=(5, 5, 5, 5, 5), logprob=-0.1, finished=True)
    assert guarded._loops("好好学习", out)
    assert not guarded._loops("哈哈哈哈哈", out)


class LoopingEngine:
    """An engine that always loops, to see what the translator does when the
    second decoding loops too."""

    name, precision, device, backend = "looping", "float32", "cpu", ""

    def __init__(self):
        self.requests = []

    def generate(self, batches):
        for ids, request in batches:
            self.requests.append(request)
            yield [Output(ids=(42,) * 8, logprob=-0.2, finished=True) for _ in ids]


def test_what_still_loops_is_flagged_not_hidden(translator):
    engine = LoopingEngine()
    looping = Translator(engine, translator.tokenizer, translator.model, use_cache=False)
    out = looping.translate(["我们走吧。"])[0]
    assert [r.no_repeat_ngram_size for r in engine.requests] == [0, 3]
    assert engine.requests[1].repetition_penalty > 1
    assert out.looped
    confidence, warnings = score("我们走吧。", out)
    assert confidence <= 0.3 and any("looped" in w for w in warnings)


# --- loading -------------------------------------------------------------------------


def test_which_model_is_used(monkeypatch, tmp_path, tiny_model):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZHEN_MODEL", raising=False)
    assert model_name(None) == DEFAULT_MODEL
    shutil.copytree(tiny_model, tmp_path / "models" / "opus-mt-zh-en")  # as `make model` saves it
    assert model_name(None) == "models/opus-mt-zh-en"
    monkeypatch.setenv("ZHEN_MODEL", "/srv/models/x")
    assert model_name(None) == "/srv/models/x"
    assert model_name("mine") == "mine"


def test_missing_model_directory(tmp_path):
    with pytest.raises(ZhenError, match="does not exist; give --model"):
        Translator.load(str(tmp_path / "nope"))


def test_directory_that_is_not_a_model(tmp_path):
    with pytest.raises(ZhenError, match=r"no config\.json"):
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


def test_unknown_device_engine_and_precision(tiny_model):
    with pytest.raises(ZhenError, match="unknown device 'gpu'"):
        Translator.load(str(tiny_model), DecodingOptions(device="gpu"))
    with pytest.raises(ZhenError, match="unknown engine"):
        Translator.load(str(tiny_model), DecodingOptions(engine="marian", device="cpu"))
    with pytest.raises(ZhenError, match="int8 needs --engine ctranslate2"):
        Translator.load(str(tiny_model), DecodingOptions(engine="transformers", precision="int8", device="cpu"))
    with pytest.raises(ZhenError, match="needs a GPU"):
        Translator.load(str(tiny_model), DecodingOptions(engine="transformers", precision="float16", device="cpu"))


def test_cuda_requested_without_gpu(tiny_model):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ZhenError, match="no CUDA GPU"):
        Translator.load(str(tiny_model), DecodingOptions(device="cuda"))


def test_converted_model_is_cached_and_keyed_by_the_model(tiny_model, tmp_path, monkeypatch):
    from pipeline.engines.ct2 import converted_model

    monkeypatch.setenv("ZHEN_MODELS_DIR", str(tmp_path / "models"))
    first = converted_model(str(tiny_model))
    assert first.parent == tmp_path / "models" / "ctranslate2" and (first / "model.bin").is_file()
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert converted_model(str(tiny_model)) == first  # not converted again
    assert (first / "model.bin").stat().st_mtime_ns == stamp
    changed = tmp_path / "changed"
    shutil.copytree(tiny_model, changed)
    config = json.loads((changed / "config.json").read_text())
    config["init_std"] = 0.25
    (changed / "config.json").write_text(json.dumps(config))
    assert converted_model(str(changed)) != first
    assert not list((tmp_path / "models" / "ctranslate2").glob(".converting-*"))


def test_model_without_generation_config_uses_its_config(tiny_model, tmp_path):
    older = tmp_path / "older"
    shutil.copytree(tiny_model, older)
    (older / "generation_config.json").unlink()
    translator = Translator.load(str(older), DecodingOptions(device="cpu"), use_cache=False)
    assert translator.model.max_tokens == 128  # the position embeddings, not GenerationConfig's default 20
    assert translator.translate(["小米生态链的产品。"])[0].text


def test_a_model_directory_is_hashed_once_until_a_file_changes(tiny_model, tmp_path, monkeypatch):
    from pipeline.model import fingerprint

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    monkeypatch.setenv("ZHEN_MODELS_DIR", str(tmp_path / "models"))
    first = fingerprint(str(model))
    assert (tmp_path / "models" / "ctranslate2" / "fingerprints.json").is_file()
    assert fingerprint(str(model)) == first == fingerprint(str(tiny_model))  # same contents, same hash
    config = model / "generation_config.json"
    text = config.read_text()
    config.write_text(text.replace('"num_beams": 2', '"num_beams": 3'))  # same size, new contents
    assert fingerprint(str(model)) != first
