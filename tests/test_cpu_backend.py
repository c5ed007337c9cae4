"""CTranslate2's CPU backend: measured once per CPU, remembered, used by the
next process, in the translation cache's key; a user's own choice wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from pipeline.engines import cpu
from pipeline.engines.ct2 import converted_model
from pipeline.settings import cpu_backends_path
from pipeline.translate import DecodingOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def unchosen(monkeypatch, tmp_path):
    """No backend in the environment, and nothing remembered yet."""
    for name in (*cpu.ENV, cpu.CHOSEN_BY_ZHEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZHEN_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path


def backend_of_a_new_process(env: dict[str, str], converted) -> tuple[str, str]:
    """The backend a fresh process settles on, and what CTranslate2 says it loaded ``converted`` with."""
    code = (
        "from pipeline.engines.cpu import import_ctranslate2, settle\n"
        f"ct2 = import_ctranslate2(); print(settle().label); ct2.Translator({str(converted)!r}, compute_type='int8')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env={**env, "CT2_VERBOSE": "1"}, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1], done.stderr


def test_the_fastest_backend_is_measured_once_and_used_by_the_next_process(unchosen, tiny_model):
    if len(cpu.candidates()) < 2:
        pytest.skip("one CPU backend here: nothing to choose")
    converted = converted_model(str(tiny_model))
    choice = cpu.calibrate(converted, threads=1)
    assert choice in cpu.candidates()
    remembered = json.loads(cpu_backends_path().read_text())[cpu.cpu_identity()]
    assert set(remembered["seconds"]) == {b.label for b in cpu.candidates()}
    assert all(seconds > 0 for seconds in remembered["seconds"].values())
    assert cpu.calibrate(converted, threads=1) == choice  # once: remembered, not measured again
    label, log = backend_of_a_new_process(dict(os.environ), converted)
    assert label == choice.label
    assert f"Use Intel MKL: {'true' if choice.gemm == 'mkl' else 'false'}" in log
    assert f"Selected ISA: {choice.isa}" in log


def test_processes_starting_together_measure_once(unchosen, tiny_model):
    if len(cpu.candidates()) < 2:
        pytest.skip("one CPU backend here: nothing to choose")
    converted = converted_model(str(tiny_model))
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        f"from pipeline.engines.cpu import calibrate; print(calibrate(__import__('pathlib').Path({str(converted)!r}), 1))"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    said = [worker.communicate(timeout=300)[0] for worker in workers]
    assert sum("timing CTranslate2's CPU backends" in out for out in said) == 1
    assert said[0].splitlines()[-1] == said[1].splitlines()[-1]  # both run the one choice


def test_a_larger_model_is_measured_again_a_smaller_one_not(unchosen, tiny_model, caplog):
    if len(cpu.candidates()) < 2:
        pytest.skip("one CPU backend here: nothing to choose")
    converted = converted_model(str(tiny_model))
    size = (converted / "model.bin").stat().st_size
    other = next(b for b in cpu.candidates() if b != cpu.default_backend())
    for measured_on, measured_again in ((size * 10, False), (size // 10, True)):
        cpu_backends_path().parent.mkdir(parents=True, exist_ok=True)
        entry = {"choice": other.__dict__, "seconds": {}, "model_bytes": measured_on}
        cpu_backends_path().write_text(json.dumps({cpu.cpu_identity(): entry}))
        caplog.clear()
        with caplog.at_level("INFO", logger="pipeline.translate"):
            choice = cpu.calibrate(converted, threads=1)
        assert ("timing CTranslate2's CPU backends" in caplog.text) == measured_again
        remembered = cpu.remembered()[cpu.cpu_identity()]
        assert remembered["model_bytes"] == (size if measured_again else measured_on)
        assert measured_again or choice == other


def test_a_process_that_loaded_the_remembered_choice_still_measures_a_larger_model(unchosen, tiny_model):
    # The remembered choice is in the environment by then; it is zhen's, not the user's.
    if len(cpu.candidates()) < 2:
        pytest.skip("one CPU backend here: nothing to choose")
    converted = converted_model(str(tiny_model))
    other = next(b for b in cpu.candidates() if b != cpu.default_backend())
    cpu_backends_path().parent.mkdir(parents=True, exist_ok=True)
    entry = {"choice": other.__dict__, "seconds": {}, "model_bytes": 1}
    cpu_backends_path().write_text(json.dumps({cpu.cpu_identity(): entry}))
    code = (
        "import logging, sys, pathlib; logging.basicConfig(level=logging.INFO, stream=sys.stdout)\n"
        "from pipeline.engines.cpu import calibrate, import_ctranslate2, settle\n"
        f"import_ctranslate2(); print(settle().label); calibrate(pathlib.Path({str(converted)!r}), 1)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == other.label  # the remembered choice was loaded
    assert "timing CTranslate2's CPU backends" in done.stdout  # and a larger model measured again


def test_a_users_own_choice_wins_and_nothing_is_measured(unchosen, tiny_model):
    converted = converted_model(str(tiny_model))
    label, log = backend_of_a_new_process({**os.environ, "CT2_USE_MKL": "0"}, converted)
    assert label.startswith("dnnl-") and "Use Intel MKL: false" in log
    os.environ["CT2_USE_MKL"] = "0"
    try:
        assert cpu.calibrate(converted, threads=1) is None
    finally:
        del os.environ["CT2_USE_MKL"]
    assert not cpu_backends_path().exists()


def test_the_backend_is_part_of_the_translation_cache_key():
    options = DecodingOptions()
    engine = dict(name="ctranslate2", device="cpu", precision="int8")
    mkl = options.cache_key(SimpleNamespace(**engine, backend="mkl-avx2"), 4)
    dnnl = options.cache_key(SimpleNamespace(**engine, backend="dnnl-avx2"), 4)
    torch = options.cache_key(SimpleNamespace(name="transformers", device="cpu", precision="float32", backend=""), 4)
    assert mkl != dnnl and mkl.endswith("backend=mkl-avx2")
    assert "backend" not in torch


def test_what_the_environment_asks_for(monkeypatch):
    monkeypatch.setenv("CT2_USE_MKL", "1")
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "AVX512")
    assert cpu.in_effect() == cpu.Backend("mkl", "AVX512")
    monkeypatch.setenv("CT2_USE_MKL", "0")
    monkeypatch.delenv("CT2_FORCE_CPU_ISA")
    assert cpu.in_effect() == cpu.Backend("dnnl", cpu.default_backend().isa)
