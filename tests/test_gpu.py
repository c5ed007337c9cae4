"""GPU decoding (fp16/bf16): runs where torch sees a CUDA GPU, skips elsewhere."""

import math

import pytest
from conftest import SAMPLE

from pipeline.errors import ZhenError
from pipeline.segment import segment
from pipeline.translate import DecodingOptions, Translator

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")

SENTENCES = [s.text for s in segment(SAMPLE.read_text(encoding="utf-8"))][:40]


def load(model, **options):
    return Translator.load(str(model), DecodingOptions(device="cuda", **options), use_cache=False)


@pytest.mark.parametrize("precision", ["float32", "float16", "bfloat16"])
def test_transformers_on_gpu(tiny_model, precision):
    translator = load(tiny_model, engine="transformers", precision=precision)
    assert translator.engine.precision == precision
    assert next(translator.engine.loaded().model.parameters()).dtype == getattr(torch, precision)
    batched = translator.translate(SENTENCES)
    assert all(t.text and math.isfinite(t.logprob) for t in batched)
    assert translator.translate(SENTENCES) == batched  # deterministic
    if precision == "float32":
        assert [translator.translate([s])[0] for s in SENTENCES] == batched


def test_gpu_float32_matches_cpu(tiny_model):
    gpu = load(tiny_model, engine="transformers", precision="float32", beams=1, loop_guard=False)
    cpu = Translator.load(
        str(tiny_model),
        DecodingOptions(device="cpu", engine="transformers", beams=1, loop_guard=False),
        use_cache=False,
    )
    assert [t.text for t in gpu.translate(SENTENCES)] == [t.text for t in cpu.translate(SENTENCES)]


def test_ctranslate2_on_gpu_or_a_clear_fallback(tiny_model):
    ctranslate2 = pytest.importorskip("ctranslate2")
    if ctranslate2.get_cuda_device_count() == 0:
        pytest.skip("this CTranslate2 build sees no GPU")
    assert load(tiny_model).engine.name == "transformers"  # auto on a GPU
    translator = load(tiny_model, engine="ctranslate2")
    assert translator.engine.precision == "int8_float16"
    try:
        out = translator.translate(SENTENCES)
    except ZhenError as err:
        # PyPI's CTranslate2 wants CUDA 12's cuBLAS, which a CUDA 13 machine lacks.
        failure = str(err)
    else:
        failure = ""
    if failure:
        assert "try --engine transformers" in failure
        return
    assert all(t.text and math.isfinite(t.logprob) for t in out)
    assert [translator.translate([s])[0] for s in SENTENCES[:10]] == out[:10]
