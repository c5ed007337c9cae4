"""The pipeline as users run it: the CLI, the Makefile, and real consumers of its files."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polib
import pytest
from conftest import ROOT, SAMPLE, TMX_DTD, omegat_translate, require_tool, run_cli, run_make
from lxml import etree

from pipeline.han import HAN
from pipeline.segment import segment
from pipeline.translate import DecodingOptions, Translator

SAMPLE_SENTENCES = [s.text for s in segment(SAMPLE.read_text(encoding="utf-8"))]
UNIQUE_SENTENCES = list(dict.fromkeys(SAMPLE_SENTENCES))
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DATES = re.compile(rb'(creationdate="|Creation-Date: |Revision-Date: )[^"\\]+')


@pytest.fixture(scope="module")
def sample_run(tiny_model, tmp_path_factory):
    """``python -m pipeline run corpus/<sample> --out DIR --model TINY``, once for the module."""
    out = tmp_path_factory.mktemp("out")
    result = run_cli("run", SAMPLE.relative_to(ROOT), "--out", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()
    return out, result


def tmx_units(path):
    root = etree.parse(str(path)).getroot()
    return [{tuv.get(XML_LANG): tuv.findtext("seg") for tuv in tu.findall("tuv")} for tu in root.iterfind("body/tu")]


def test_run_writes_both_files_named_after_the_document(sample_run):
    out, result = sample_run
    assert sorted(p.name for p in out.iterdir()) == [
        "xiaomi-ecosystem-interview.en.txt",
        "xiaomi-ecosystem-interview.zh.po",
        "xiaomi-ecosystem-interview.zh.tmx",
    ]
    log = result.stderr.decode()
    assert f"{len(SAMPLE_SENTENCES)} sentences, {len(UNIQUE_SENTENCES)} unique" in log
    assert re.search(r"\d+ decoded again after a loop", log)  # the tiny model loops: the summary says so
    assert "Traceback" not in log


def test_the_translated_text_has_each_line_translated_in_place(sample_run):
    out, _ = sample_run
    source = SAMPLE.read_text(encoding="utf-8").split("\n")
    translated = (out / "xiaomi-ecosystem-interview.en.txt").read_text(encoding="utf-8").split("\n")
    assert len(translated) == len(source)
    po = {e.msgid: e.msgstr for e in polib.pofile(str(out / "xiaomi-ecosystem-interview.zh.po"))}
    for line, english in zip(source, translated, strict=True):
        sentences = [s.text for s in segment(line)]
        if not any(HAN.search(s) for s in sentences):
            assert english == line  # nothing to translate: kept as it was
        else:
            assert english.strip() == " ".join(po[s] if HAN.search(s) else s for s in sentences)


def test_tmx_validates_and_holds_each_unique_sentence_once(sample_run):
    out, _ = sample_run
    path = out / "xiaomi-ecosystem-interview.zh.tmx"
    dtd = etree.DTD(str(TMX_DTD))
    assert dtd.validate(etree.parse(str(path))), dtd.error_log.filter_from_errors()
    units = tmx_units(path)
    assert [u["zh-CN"] for u in units] == UNIQUE_SENTENCES
    assert all(u["en"] and u["en"] == u["en"].strip() for u in units)


def test_tmx_reads_back_with_translate_toolkit(sample_run):
    from translate.storage import tmx

    out, _ = sample_run
    store = tmx.tmxfile.parsefile(str(out / "xiaomi-ecosystem-interview.zh.tmx"))
    assert [u.source for u in store.units] == UNIQUE_SENTENCES
    assert [u.target for u in store.units] == [u["en"] for u in tmx_units(out / "xiaomi-ecosystem-interview.zh.tmx")]


def test_po_has_one_fuzzy_entry_per_unique_sentence_with_every_reference(sample_run):
    out, _ = sample_run
    po = polib.pofile(str(out / "xiaomi-ecosystem-interview.zh.po"))
    assert [e.msgid for e in po] == UNIQUE_SENTENCES
    assert all(e.fuzzy and e.msgstr for e in po)
    references = sum(len(e.occurrences) for e in po)
    assert references == len(SAMPLE_SENTENCES)  # the document's text appears twice
    repeated = po.find(SAMPLE_SENTENCES[1])
    assert [f for f, _ in repeated.occurrences] == ["corpus/xiaomi-ecosystem-interview.zh.txt"] * 2
    # The model's own confidence, next to the other signals; a line with no
    # Chinese in it is copied, and says so.
    copied = [e for e in po if not re.search(r"[\u4e00-\u9fff]", e.msgid)]
    assert [e.msgid for e in copied] == ["2016 GoodChinaBrand | ICP: 12011751 | China Exports"]
    assert copied[0].msgstr == copied[0].msgid and copied[0].comment.startswith("Copied from the source")
    translated = [e for e in po if e not in copied]
    assert all(e.comment.startswith("Machine translation by ") for e in translated)
    assert all(re.search(r"model log-probability -?\d+\.\d\d per token", e.comment) for e in translated)


def test_tmx_carries_the_model_log_probability(sample_run):
    out, _ = sample_run
    root = etree.parse(str(out / "xiaomi-ecosystem-interview.zh.tmx")).getroot()
    values = [tu.findtext("prop[@type='x-zhen-logprob']") for tu in root.iterfind("body/tu")]
    assert len(values) == len(UNIQUE_SENTENCES)
    assert all(float(v) <= 0 for v in values if v is not None) and values.count(None) == 1  # the copied line


def test_po_and_tmx_agree(sample_run):
    out, _ = sample_run
    po = polib.pofile(str(out / "xiaomi-ecosystem-interview.zh.po"))
    assert [(e.msgid, e.msgstr) for e in po] == [
        (u["zh-CN"], u["en"]) for u in tmx_units(out / "xiaomi-ecosystem-interview.zh.tmx")
    ]


def test_msgfmt_check_accepts_the_po(sample_run):
    msgfmt = require_tool("msgfmt")
    out, _ = sample_run
    result = subprocess.run(
        [msgfmt, "--check", "--check-header", "-o", os.devnull, str(out / "xiaomi-ecosystem-interview.zh.po")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_rerun_gives_identical_files_apart_from_dates(sample_run, tiny_model, tmp_path):
    out, _ = sample_run
    assert run_cli("run", SAMPLE.relative_to(ROOT), "--out", tmp_path, "--model", tiny_model).returncode == 0
    for name in ("xiaomi-ecosystem-interview.zh.tmx", "xiaomi-ecosystem-interview.zh.po"):
        first, second = (out / name).read_bytes(), (tmp_path / name).read_bytes()
        assert DATES.sub(b"", first) == DATES.sub(b"", second)


def test_source_date_epoch_makes_runs_byte_identical(tiny_model, tmp_path):
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    for out in ("a", "b"):
        result = run_cli("run", SAMPLE, "--out", tmp_path / out, "--model", tiny_model, env=env)
        assert result.returncode == 0, result.stderr.decode()
    for name in ("xiaomi-ecosystem-interview.zh.tmx", "xiaomi-ecosystem-interview.zh.po"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert b'creationdate="20231114T221320Z"' in (tmp_path / "a" / "xiaomi-ecosystem-interview.zh.tmx").read_bytes()


def test_omegat_fills_every_segment_from_the_tmx(sample_run, tmp_path):
    """OmegaT, given our TMX as project memory (tm/auto), fills every segment."""
    out, _ = sample_run
    translated = omegat_translate(tmp_path, SAMPLE_SENTENCES, {"tm/auto": out / "xiaomi-ecosystem-interview.zh.tmx"})
    units = {u["zh-CN"]: u["en"] for u in tmx_units(out / "xiaomi-ecosystem-interview.zh.tmx")}
    assert translated == [units[s] for s in SAMPLE_SENTENCES]


def test_segment_command_prints_sentences_and_paragraph_breaks():
    result = run_cli("segment", SAMPLE)
    assert result.returncode == 0
    expected = (ROOT / "tests" / "data" / "xiaomi-ecosystem-interview.sentences.txt").read_text(encoding="utf-8")
    assert result.stdout.decode("utf-8") == expected


def test_segment_english_from_stdin():
    result = run_cli("segment", "-", "--lang", "en", stdin=b"Dr. Li came. He left.\n\nNew paragraph.")
    assert result.stdout.decode() == "Dr. Li came.\nHe left.\n\nNew paragraph.\n"


def test_stage_commands_compose_into_the_same_result(sample_run, tiny_model, tmp_path):
    """segment | translate gives the translations that `run` wrote."""
    sentences = tmp_path / "s.txt"
    sentences.write_bytes(run_cli("segment", SAMPLE).stdout)
    translated = run_cli("translate", sentences, "--model", tiny_model)
    assert translated.returncode == 0, translated.stderr.decode()
    lines = [line for line in translated.stdout.decode("utf-8").splitlines() if line]
    out, _ = sample_run
    units = {u["zh-CN"]: u["en"] for u in tmx_units(out / "xiaomi-ecosystem-interview.zh.tmx")}
    assert lines == [units[s] for s in SAMPLE_SENTENCES]


def test_translate_prints_one_line_per_input_line(tiny_model):
    result = run_cli("translate", "-", "--model", tiny_model, stdin="第一句。\n\n第二句。\n".encode())
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().split("\n")
    assert len(lines) == 4 and lines[0] and lines[1] == "" and lines[2] and lines[3] == ""


def test_an_unknown_device_is_a_wrong_command_line(tiny_model):
    result = run_cli("translate", "-", "--model", tiny_model, "--device", "gpu", stdin="你好。".encode())
    assert result.returncode == 2
    assert "argument --device: expected cpu, cuda, cuda:N or auto, not 'gpu'" in result.stderr.decode()


def test_model_errors_are_one_line_with_advice(tmp_path):
    source = tmp_path / "doc.txt"
    source.write_text("你好。", encoding="utf-8")
    result = run_cli("run", source, "--out", tmp_path, "--model", tmp_path / "missing")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.count("\n") == 1 and "does not exist; give --model" in stderr and "Traceback" not in stderr


OFFLINE_WAY_OUT = "make tiny-model && make MODEL=models/tiny-random"


@pytest.mark.parametrize(
    "env, why",
    [
        ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
        ({"HF_ENDPOINT": "http://127.0.0.1:9"}, "127.0.0.1 cannot be reached (no network?)"),  # nobody listens there
    ],
)
def test_the_default_model_offline_fails_at_once_naming_what_works_offline(tmp_path, env, why):
    source = tmp_path / "doc.txt"
    source.write_text("你好。", encoding="utf-8")
    # In an empty directory: no models/opus-mt-zh-en saved by `make model`.
    env = {**env, "ZHEN_MODEL": "", "HF_HOME": str(tmp_path / "hf")}
    result = run_cli("run", source, "--out", tmp_path / "out", cwd=tmp_path, env=env)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and stderr.count("\n") == 1, stderr
    assert f"cannot download model Helsinki-NLP/opus-mt-zh-en: {why}" in stderr
    assert "make model" in stderr and OFFLINE_WAY_OUT in stderr
    align = run_cli("align", source, source, cwd=tmp_path, env=env).stderr.decode()
    assert "--no-mt" in align and "--source-mt FILE" in align
    download = run_cli("download-model", cwd=tmp_path, env=env).stderr.decode()
    assert "downloading needs network once" in download and OFFLINE_WAY_OUT in download
    assert "make model" not in download  # the step that just failed


def test_an_unreachable_hub_is_found_before_the_heavy_imports(tmp_path):
    check = (
        "import sys; from pipeline.model import open_model; from pipeline.errors import ZhenError\n"
        "try:\n    open_model('Helsinki-NLP/opus-mt-zh-en')\nexcept ZhenError:\n"
        "    print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_inputs_with_the_same_name_are_refused(tiny_model, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "doc.txt").write_text("你好。", encoding="utf-8")
    result = run_cli(
        "run", tmp_path / "a/doc.txt", tmp_path / "b/doc.txt", "--out", tmp_path / "out", "--model", tiny_model
    )
    assert result.returncode == 1 and b"would both write" in result.stderr


def test_help_and_console_script():
    assert run_cli("--help").returncode == 0
    for command in ("run", "segment", "translate", "align", "download-model"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and b"usage: zhen " + command.encode() in result.stdout
    script = Path(sys.executable).parent / "zhen"
    if not script.exists():
        pytest.skip("zhen is not installed in this environment (pip install -e .)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("zhen ")


def test_make_builds_incrementally(tiny_model, tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy(SAMPLE, tmp_path / "corpus" / "a.zh.txt")
    (tmp_path / "corpus" / "b.txt").write_text("第一句。第二句。", encoding="utf-8")
    (tmp_path / "corpus" / "with space.txt").write_text("第三句。", encoding="utf-8")
    other_model = tmp_path / "other-model"
    shutil.copytree(tiny_model, other_model)

    def make_run(*args, model=tiny_model):
        env = {k: v for k, v in os.environ.items() if k != "ZHEN_TM"}  # make's own default memory
        result = run_make(tmp_path, model, *args, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return re.findall(r" run \"([^\"]+)\"", result.stdout), result.stderr

    built, warnings = make_run()
    assert built == ["corpus/a.zh.txt", "corpus/b.txt"]
    assert "skipping 1 document(s)" in warnings  # the name with a space

    def outputs():
        return sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))

    assert outputs() == ["a.en.txt", "a.zh.po", "a.zh.tmx", "b.en.txt", "b.po", "b.tmx"]
    assert make_run()[0] == []  # nothing changed, nothing redone
    os.utime(tmp_path / "corpus" / "b.txt")  # b changed: only b is redone
    assert make_run()[0] == ["corpus/b.txt"]
    assert make_run(model=other_model)[0] == ["corpus/a.zh.txt", "corpus/b.txt"]  # a new model redoes all
    # A review saved into b's PO: b is redone, its approval learned and marked in its TMX.
    po = polib.pofile(str(tmp_path / "out" / "b.po"))
    po.find("第一句。").msgstr, po.find("第一句。").flags = "The first.", []
    po.save()
    os.utime(tmp_path / "out" / "b.po", (time.time() + 2,) * 2)  # saved after the TMX was written
    assert make_run(model=other_model)[0] == ["corpus/b.txt"]
    assert b"ApprovedTranslation" in (tmp_path / "out" / "b.tmx").read_bytes()
    assert (tmp_path / "zhen-tm.sqlite").exists()  # the project's memory, beside corpus/
    assert make_run(model=other_model)[0] == []
    make_run("clean", model=other_model)
    assert outputs() == ["a.zh.po", "b.po"]  # they may hold reviews
    assert make_run(model=other_model)[0] == ["corpus/a.zh.txt", "corpus/b.txt"]


def test_rerun_after_review_and_source_change_keeps_approved_work(tiny_model, tmp_path):
    source = tmp_path / "doc.txt"
    source.write_text("第一句。第二句。\n第三句。\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("run", source, "--out", out, "--model", tiny_model).returncode == 0
    po = polib.pofile(str(out / "doc.po"))
    po.find("第一句。").msgstr = "The first sentence."
    po.find("第一句。").flags.remove("fuzzy")
    po.find("第三句。").msgstr = "The third sentence."
    po.find("第三句。").flags.remove("fuzzy")
    po.save()

    source.write_text("第一句。新的一句。\n", encoding="utf-8")
    result = run_cli("run", source, "--out", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()
    po = polib.pofile(str(out / "doc.po"))
    assert [(e.msgid, e.msgstr, e.fuzzy) for e in po.translated_entries()] == [
        ("第一句。", "The first sentence.", False)
    ]
    assert [e.msgid for e in po.fuzzy_entries()] == ["新的一句。"]
    # As msgmerge does, every translated entry whose sentence left becomes obsolete.
    assert [e.msgid for e in po.obsolete_entries()] == ["第二句。", "第三句。"]
    assert po.find("第三句。", by="msgid", include_obsolete_entries=True).msgstr == "The third sentence."
    msgfmt = require_tool("msgfmt")
    assert subprocess.run([msgfmt, "--check", "-o", os.devnull, str(out / "doc.po")]).returncode == 0


def test_unreadable_po_in_the_output_stops_the_run_before_anything_is_written(tiny_model, tmp_path):
    (tmp_path / "a.txt").write_text("第一句。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("第二句。", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.po").write_bytes(b'msgid "broken')
    result = run_cli("run", tmp_path / "a.txt", tmp_path / "b.txt", "--out", out, "--model", tiny_model)
    assert result.returncode == 1 and b"b.po exists but cannot be read" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b.po"]
    assert (out / "b.po").read_bytes() == b'msgid "broken'


def test_download_model_saves_a_directory_that_translates_the_same(tiny_model, tmp_path):
    # A local directory stands in for the hub id: the same from_pretrained and
    # save_pretrained code runs, without network.
    saved = tmp_path / "models" / "copy"
    result = run_cli("download-model", "--model", tiny_model, "--to", saved)
    assert result.returncode == 0, result.stderr.decode()
    assert {"config.json", "source.spm", "target.spm", "vocab.json"} <= {p.name for p in saved.iterdir()}
    sentences = ["第一句。", "韩乾源表示: '我们是这样, 充分开放."]
    original, copy = (
        Translator.load(str(model), DecodingOptions(engine="transformers", device="cpu"), use_cache=False)
        for model in (tiny_model, saved)
    )
    assert copy.translate(sentences) == original.translate(sentences)


@pytest.mark.parametrize(
    "setup, extra_env, message",
    [
        (lambda out: out.write_text("a file"), {}, "is a file, not a directory"),
        (lambda out: (out.mkdir(), (out / "doc.po").write_text(""), (out / "doc.po").chmod(0o444)), {}, "read-only"),
        (lambda out: None, {"SOURCE_DATE_EPOCH": "99999999999999"}, "SOURCE_DATE_EPOCH must be"),
    ],
)
def test_output_problems_are_found_before_translating(tiny_model, tmp_path, setup, extra_env, message):
    (tmp_path / "doc.txt").write_text("第一句。", encoding="utf-8")
    out = tmp_path / "out"
    setup(out)
    result = run_cli("run", tmp_path / "doc.txt", "--out", out, "--model", tmp_path / "no-model", env=extra_env)
    stderr = result.stderr.decode()
    # The missing model would be the next error: these come first.
    assert result.returncode == 1 and message in stderr and stderr.count("\n") == 1, stderr
