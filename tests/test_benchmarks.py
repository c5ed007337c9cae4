"""The benchmark scripts run end to end on small data laid out like mac-dev."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


def test_segment_benchmark_skips_without_data(tmp_path):
    result = run_benchmark("bench_segment.py", "--data", str(tmp_path / "absent"))
    assert result.returncode == 0
    assert "skipped" in result.stdout


def test_segment_benchmark_scores_boundaries(tmp_path):
    # Gold with one boundary zhen cannot see (after a colon, an annotator's
    # choice): zh has 3 gold boundaries and zhen finds 2 of them.
    text = tmp_path / "001"
    text.mkdir()
    (text / "zh.txt").write_text("他来了。\n她说：\n“走吧。”\n我们走了。\n", encoding="utf-8")
    (text / "en.txt").write_text('He came.\nShe said, "Go."\nWe left.\n', encoding="utf-8")
    result = run_benchmark("bench_segment.py", "--data", str(tmp_path), "--errors")
    zhen_rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("zhen ")]
    zh_all, en_all = [row for row in zhen_rows if row[1] == "all"]
    assert zh_all[2:5] == ["1.000", "0.667", "0.800"]  # P, R, F1
    assert en_all[2:5] == ["1.000", "1.000", "1.000"]
    assert "001 missed 他来了。她说：‖“走吧。”" in result.stdout
    assert "goal (F1 >= 0.985, >= 5 MB/s): NOT met" in result.stdout
    assert result.returncode == 0  # a goal not met is reported, not a failure


def test_align_benchmark_skips_without_data(tmp_path):
    result = run_benchmark("bench_align.py", "--data", str(tmp_path / "absent"))
    assert result.returncode == 0
    assert "skipped" in result.stdout


def test_align_benchmark_scores_every_system(tmp_path, tiny_sentence_encoder):
    text = tmp_path / "001"
    text.mkdir()
    (text / "zh.txt").write_text("他来了。\n她走了。\n我们都笑了。\n", encoding="utf-8")
    (text / "zh.mt.txt").write_text("He came.\nShe left.\nWe all laughed.\n", encoding="utf-8")
    (text / "en.txt").write_text("He came and she left.\nWe all laughed.\n", encoding="utf-8")
    (text / "gold.align").write_text("[0,1]:[0]\n[2]:[1]\n", encoding="utf-8")
    (text / "bertalign.align").write_text("[0]:[0]\n[1]:[]\n[2]:[1]\n", encoding="utf-8")
    result = run_benchmark("bench_align.py", "--data", str(tmp_path), "--similarity-model", str(tiny_sentence_encoder))
    assert result.returncode == 0, result.stderr
    rows = dict(
        re.match(r"(\S.*?)\s+(\d\.\d{3}\s.*)", line).groups()
        for line in result.stdout.splitlines()[1:]
        if re.match(r"\S.*?\s+\d\.\d{3}\s", line)
    )
    scores = {label: values.split() for label, values in rows.items()}
    # per text, mean, worst, pooled strict F1, lax F1
    assert scores["zhen, MT + encoder (LOTO)"] == ["1.000"] * 5
    assert scores["zhen, MT bridge (LOTO)"] == ["1.000"] * 5
    assert scores["Bertalign (LaBSE)"][-2:] == ["0.400", "0.800"]
    assert "Gale-Church" in scores and "zhen, no MT (LOTO)" in scores
    assert "goal, leave-one-text-out" in result.stdout
