"""The translation cache: nothing is translated twice, and nothing stored is lost."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SAMPLE, run_cli

from pipeline.segment import segment
from pipeline.translate import DecodingOptions, Translator

SENTENCES = list(dict.fromkeys(s.text for s in segment(SAMPLE.read_text(encoding="utf-8"))))


def load(model, cache, **options):
    return Translator.load(str(model), DecodingOptions(device="cpu", **options), cache=cache)


@pytest.mark.parametrize("engine", ["ctranslate2", "transformers"])
def test_a_rerun_calls_the_model_zero_times(tiny_model, tmp_path, engine):
    cache = tmp_path / "cache.sqlite"
    first = load(tiny_model, cache, engine=engine)
    translated = first.translate(SENTENCES)
    assert first.model_calls > 0
    again = load(tiny_model, cache, engine=engine)
    assert again.translate(SENTENCES) == translated
    assert again.model_calls == 0


def test_the_key_holds_model_and_settings(tiny_model, tmp_path):
    cache = tmp_path / "cache.sqlite"
    load(tiny_model, cache, engine="transformers").translate(SENTENCES[:5])
    other_beams = load(tiny_model, cache, engine="transformers", beams=1)
    other_beams.translate(SENTENCES[:5])
    other_engine = load(tiny_model, cache, engine="ctranslate2")
    other_engine.translate(SENTENCES[:5])
    assert other_beams.model_calls > 0 and other_engine.model_calls > 0
    per_settings = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM translations GROUP BY settings").fetchall()
    assert len(per_settings) == 3 and len(set(per_settings)) == 1  # the same pieces under three keys


def many_sentences(count):
    """Distinct short sentences (none split to fit the model), numbered."""
    short = [s.rstrip(".") for s in SENTENCES if len(s) < 20]
    return [f"{short[i % len(short)]}，第{i}次。" for i in range(count)]


def translate_command(model, source, cache, *extra, batch_tokens=16):
    # Small batches: many commits, so the kill and the other process land
    # mid-run. Greedy float32, where batching promises the same translations.
    return [
        sys.executable,
        "-m",
        "pipeline",
        "translate",
        str(source),
        "--model",
        str(model),
        "--cache",
        str(cache),
        "--engine",
        "transformers",
        "--beams",
        "1",
        "--batch-tokens",
        str(batch_tokens),
        *extra,
    ]


def stored(cache):
    try:
        with sqlite3.connect(cache, timeout=30) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def greedy_without_cache(translators, lines):
    """What the model gives for ``lines`` without a cache, in one batch."""
    reference = translators["transformers"]
    greedy = Translator(
        reference.engine,
        reference.tokenizer,
        reference.model,
        DecodingOptions(beams=1, batch_tokens=256),
        use_cache=False,
    )
    return [t.text for t in greedy.translate(lines)]


def test_kill_9_mid_run_then_resume_translates_only_the_rest(tiny_model, translators, tmp_path):
    source = tmp_path / "many.txt"
    lines = many_sentences(150)
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cache = tmp_path / "cache.sqlite"
    process = subprocess.Popen(
        translate_command(tiny_model, source, cache), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while stored(cache) < 10 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    kept = stored(cache)
    assert 0 < kept < len(lines), "the run should have been killed half way"
    assert sqlite3.connect(cache).execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # Larger batches now: batching does not change any translation.
    resumed = subprocess.run(
        translate_command(tiny_model, source, cache, batch_tokens=256), cwd=ROOT, capture_output=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    found = re.search(
        r"(\d+) distinct sentences translated by the model, (\d+) from the translation cache", resumed.stderr.decode()
    )
    assert found and int(found.group(2)) == kept and int(found.group(1)) == len(lines) - kept
    assert resumed.stdout.decode().splitlines() == greedy_without_cache(translators, lines)  # what was stored is intact
    assert stored(cache) == len(lines)  # every sentence stored once


def test_two_processes_share_one_cache(tiny_model, translators, tmp_path):
    cache = tmp_path / "cache.sqlite"
    lines = many_sentences(30)
    halves = [lines[:20], lines[10:]]  # overlapping
    sources = []
    for i, half in enumerate(halves):
        sources.append(tmp_path / f"part{i}.txt")
        sources[-1].write_text("\n".join(half) + "\n", encoding="utf-8")
    processes = [
        subprocess.Popen(
            translate_command(tiny_model, s, cache), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for s in sources
    ]
    results = [(*p.communicate(timeout=600), p.returncode) for p in processes]
    assert all(rc == 0 for _, _, rc in results), [err.decode()[-500:] for _, err, _ in results]
    assert stored(cache) == len(lines)
    assert sqlite3.connect(cache).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for half, (out, _, _) in zip(halves, results, strict=True):
        assert out.decode().splitlines() == greedy_without_cache(translators, half)


def test_output_is_the_same_in_a_new_process(tiny_model, tmp_path):
    source = tmp_path / "s.txt"
    source.write_text("\n".join(SENTENCES[:20]) + "\n", encoding="utf-8")
    runs = [run_cli("translate", source, "--model", tiny_model, "--no-cache") for _ in range(2)]
    assert runs[0].returncode == 0 and runs[0].stdout and runs[0].stdout == runs[1].stdout


def test_an_unusable_cache_is_a_clear_error(tiny_model, tmp_path):
    not_a_db = tmp_path / "cache.sqlite"
    not_a_db.write_bytes(b"this is not SQLite" * 100)
    source = tmp_path / "s.txt"
    source.write_text(SENTENCES[0] + "\n", encoding="utf-8")
    result = run_cli("translate", source, "--model", tiny_model, "--cache", not_a_db)
    assert result.returncode == 1
    assert b"is not a translation cache" in result.stderr and b"--no-cache" in result.stderr
