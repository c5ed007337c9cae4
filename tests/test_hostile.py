"""Hostile input: each case ends in correct output or a one-line error, and
never damages earlier work.

Every case starts from a reviewed project (a translated document whose PO
a reviewer approved entries in, and a translation memory holding them) and
ends with its outputs passing the consumers' checks (`check_outputs`: TMX
DTD, msgfmt --check, translate-toolkit) and, where it fails, with every
earlier file and the memory exactly as they were.
"""

import codecs
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polib
import pytest

from conftest import ROOT, check_outputs, run_cli
from pipeline.memory import TranslationMemory
from pipeline.segment import segment
from pipeline.textio import MAX_DOCUMENT_BYTES

APPROVED = {"第一句。": "The first sentence.", "第三句。": "The third sentence."}
COMMON_HANZI = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起"


@dataclass
class Project:
    root: Path
    out: Path
    model: Path
    memory: Path

    def run(self, *inputs, extra=()):
        return run_cli("run", *inputs, "--out", self.out, "--model", self.model, *extra)

    def snapshot(self):
        """Every output file's bytes and the memory's approvals."""
        files = {p.name: p.read_bytes() for p in sorted(self.out.iterdir()) if p.is_file()}
        return files, TranslationMemory(self.memory).approved()

    def document(self, name, data):
        path = self.root / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path


@pytest.fixture(scope="module")
def reviewed(tiny_model, tmp_path_factory):
    """A document translated, reviewed (two entries approved) and run again:
    its outputs and its memory, built once and copied for each test."""
    root = tmp_path_factory.mktemp("reviewed")
    memory = root / "tm.sqlite"
    project = Project(root, root / "out", tiny_model, memory)
    source = project.document("a.txt", "第一句。第二句。\n第三句。\n")
    env = {"ZHEN_TM": str(memory)}
    assert run_cli("run", source, "--out", project.out, "--model", tiny_model, env=env).returncode == 0
    po = polib.pofile(str(project.out / "a.po"))
    for msgid, msgstr in APPROVED.items():
        po.find(msgid).msgstr = msgstr
        po.find(msgid).flags.remove("fuzzy")
    po.save()
    assert run_cli("run", source, "--out", project.out, "--model", tiny_model, env=env).returncode == 0
    return project


@pytest.fixture
def project(reviewed, tmp_path, isolated_memory):
    shutil.copytree(reviewed.out, tmp_path / "out")
    shutil.copy(reviewed.root / "a.txt", tmp_path / "a.txt")
    shutil.copy(reviewed.memory, isolated_memory)  # closed: its write-ahead log is merged back
    project = Project(tmp_path, tmp_path / "out", reviewed.model, isolated_memory)
    assert_reviews_intact(project)
    return project


def assert_reviews_intact(project):
    po = polib.pofile(str(project.out / "a.po"))
    assert {e.msgid: e.msgstr for e in po.translated_entries()} == APPROVED
    assert {s: a.target for s, a in TranslationMemory(project.memory).approved()} == APPROVED


def assert_one_line_error(result, message):
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.startswith("zhen: error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr


# ---------------------------------------------------------------- input documents

SIMPLIFIED = "第一段的第一句。第二句！\n第二段。\n"
TRADITIONAL = "這是一個測試。臺灣的繁體中文。\n"


@pytest.mark.parametrize("data, text", [
    (SIMPLIFIED.encode("gb18030"), SIMPLIFIED),
    (SIMPLIFIED.encode("gbk"), SIMPLIFIED),
    (TRADITIONAL.encode("big5"), TRADITIONAL),
    (SIMPLIFIED.encode("utf-16"), SIMPLIFIED),  # with a BOM
    (SIMPLIFIED.encode("utf-16-le"), SIMPLIFIED),  # without
    (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), SIMPLIFIED),
    ("第一段\x00的第一句。第二句！\n第二段。\n".encode("utf-8"), SIMPLIFIED),  # a stray NUL
    ("第一段的第一句。\x1b第二句！\n第二段\x7f。\n".encode("utf-8"), SIMPLIFIED),  # ESC, DEL
    (SIMPLIFIED.replace("\n", "\r\n").encode("utf-8"), SIMPLIFIED),  # CRLF
    (SIMPLIFIED.replace("\n", "\r").encode("utf-8"), SIMPLIFIED),  # lone CR
])
def test_encodings_and_line_ends_give_the_same_sentences(project, data, text):
    result = project.run(project.document("b.txt", data))
    assert result.returncode == 0, result.stderr.decode()
    po = polib.pofile(str(project.out / "b.po"))
    assert [e.msgid for e in po] == [s.text for s in segment(text)]
    assert [e.occurrences[0][1] for e in po] == ["1", "1", "2"][: len(po)]  # line numbers survive \r\n, \r
    check_outputs(project.out)
    assert_reviews_intact(project)


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    ("caf\xe9 ol\xe9!".encode("latin-1"), "not UTF-8"),  # invalid UTF-8, and no Chinese encoding either
    (b"\x7fELF\x02\x01\x01" + bytes(500), "binary"),
])
def test_undecodable_input_is_refused_and_nothing_changes(project, data, message):
    before = project.snapshot()
    assert_one_line_error(project.run(project.document("a.txt", data)), message)
    assert project.snapshot() == before


def test_a_missing_input_among_good_ones_stops_the_run_before_anything_is_written(project):
    before = project.snapshot()
    good = project.document("b.txt", "新的一句。")
    assert_one_line_error(project.run(good, project.root / "missing.txt"), "cannot read")
    assert project.snapshot() == before


def test_an_empty_document_gives_empty_valid_outputs(project):
    result = project.run(project.document("b.txt", b""))
    assert result.returncode == 0 and b"no text found" in result.stderr
    assert len(polib.pofile(str(project.out / "b.po"))) == 0
    check_outputs(project.out)


def test_a_document_too_large_to_hold_is_refused_at_once(project):
    huge = project.root / "huge.txt"
    with huge.open("wb") as file:  # sparse: no disk is used
        file.truncate(MAX_DOCUMENT_BYTES + 1)
    before = project.snapshot()
    assert_one_line_error(project.run(huge), "split it into several documents")
    assert project.snapshot() == before


def test_a_100000_character_paragraph_without_punctuation(project):
    paragraph = "".join(random.Random(1).choice(COMMON_HANZI) for _ in range(100_000))
    result = project.run(project.document("b.txt", paragraph + "\n"))
    assert result.returncode == 0, result.stderr.decode()
    [entry] = polib.pofile(str(project.out / "b.po"))
    assert entry.msgid == paragraph and entry.fuzzy
    assert "too long for the model: translated in" in entry.comment  # in pieces, joined, and said so
    check_outputs(project.out)


@pytest.mark.slow  # bounded memory shows only on a document this large
def test_a_50_mb_document_in_bounded_memory_with_progress(project):
    rng = random.Random(2)
    sentences = ["".join(rng.choice(COMMON_HANZI) for _ in range(rng.randint(6, 20))) + "。" for _ in range(2000)]
    lines, size = [], 0
    while size < 50 * 2**20:
        lines.append("".join(rng.choice(sentences) for _ in range(8)))
        size += len(lines[-1].encode("utf-8")) + 1
    big = project.document("big.txt", "\n".join(lines) + "\n")
    # The run in-process of a Python that reports its own peak memory.
    # (VmHWM: getrusage's ru_maxrss would count the memory of pytest, which forked it.)
    report = ("import re, sys; from pipeline.cli import main; code = main(sys.argv[1:]); "
              "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
              "print('peak', peak, file=sys.stderr); sys.exit(code)")
    result = subprocess.run(
        [sys.executable, "-c", report, "run", big, "--out", project.out, "--model", project.model, "--progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peak_mib = int(result.stderr.split("peak ")[-1]) / 1024
    print(f"50 MB document: peak memory {peak_mib:.0f} MiB")
    assert peak_mib < 2048, f"{peak_mib:.0f} MiB for a 50 MB document"
    assert "translating:" in result.stderr and "2000/2000" in result.stderr  # the progress bar
    assert f"big.txt: {len(lines) * 8} sentences" in result.stderr
    po = polib.pofile(str(project.out / "big.po"))
    assert len(po) == 2000 and sum(len(e.occurrences) for e in po) == len(lines) * 8
    check_outputs(project.out)


# ---------------------------------------------------------------- text that tries to break the writers

BREAKERS = [
    "标签</seg></tuv><tuv xml:lang=\"en\"><seg>注入。",
    "CDATA 结尾 ]]> 和 &amp; 实体。",
    '"\\n#, fuzzy\\nmsgid "伪造的条目。',
    "占位符 %s 和 %(count)d 和 {name}。",
]


def test_writer_breaking_source_text_round_trips(project):
    text = "\n\n" + "\n".join(BREAKERS) + "\n\n\n"  # leading and trailing newlines too
    result = project.run(project.document("b.txt", text))
    assert result.returncode == 0, result.stderr.decode()
    assert [e.msgid for e in polib.pofile(str(project.out / "b.po"))] == [s.text for s in segment(text)]
    check_outputs(project.out)


def test_writer_breaking_approved_translations_round_trip(project, tmp_path):
    """Approved text from an imported TMX reaches the PO and TMX exactly."""
    targets = ["Tag </seg></tuv> injection.", "CDATA end ]]> and &amp; entity.",
               'A forged "\n#, fuzzy\nmsgid " entry.', "Placeholders %s, %(count)d and {name}."]
    from xml.sax.saxutils import escape

    units = "".join(
        f'<tu><tuv xml:lang="zh-CN"><seg>{escape(s)}</seg></tuv><tuv xml:lang="en"><seg>{escape(t)}</seg></tuv></tu>'
        for s, t in zip(BREAKERS, targets)
    )
    memory = tmp_path / "import.tmx"
    memory.write_text(f'<tmx version="1.4"><header/><body>{units}</body></tmx>', encoding="utf-8")
    assert run_cli("import-tmx", memory).returncode == 0
    result = project.run(project.document("b.txt", "\n".join(BREAKERS)), extra=["--model", project.root / "none"])
    assert result.returncode == 0, result.stderr.decode()  # all approved: the model is never loaded
    po = polib.pofile(str(project.out / "b.po"))
    assert [(e.msgid, e.msgstr, e.fuzzy) for e in po] == [(s, t, False) for s, t in zip(BREAKERS, targets)]
    from translate.storage import tmx

    assert [u.target for u in tmx.tmxfile.parsefile(str(project.out / "b.tmx")).units] == targets
    check_outputs(project.out)


# ---------------------------------------------------------------- malformed files given to the import commands

GOOD_PO = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "第九句。"\nmsgstr "Nine."\n'


@pytest.mark.parametrize("command, content", [
    ("import-po", GOOD_PO[:-8].encode("utf-8")),  # truncated inside a string
    ("import-po", b"this is not\n a po file \""),
    ("import-po", b'msgid "\xff\xfe"\nmsgstr "x"\n'),  # not UTF-8
    ("import-po", b"\x00\x01\x02" * 100),
    ("import-tmx", b'<?xml version="1.0"?><tmx version="1.4"><header/><body><tu><tuv xml:lang="zh">'),
    ("import-tmx", b"<html><body>not a memory</body></html>"),
    ("import-tmx", b""),
    ("import-tmx", b"\x00\x01\x02" * 100),
])
def test_a_malformed_or_truncated_file_imports_nothing(project, command, content):
    before = project.snapshot()
    bad = project.document("bad.file", content)
    assert_one_line_error(run_cli(command, bad), "nothing was imported")
    assert project.snapshot() == before


def test_a_truncated_reviewed_po_stops_the_run_and_is_kept(project):
    po = project.out / "a.po"
    po.write_bytes(po.read_bytes()[:-12])  # cut off mid-string, as by a crash of the editor
    before = project.snapshot()
    assert_one_line_error(project.run(project.root / "a.txt"), "a.po exists but cannot be read")
    assert project.snapshot() == before


def test_a_po_edited_so_that_an_entry_is_duplicated(project):
    po = project.out / "a.po"
    po.write_text(po.read_text(encoding="utf-8") + '\nmsgid "第一句。"\nmsgstr "The 1st sentence."\n', encoding="utf-8")
    result = project.run(project.root / "a.txt")
    assert result.returncode == 0, result.stderr.decode()
    merged = polib.pofile(str(po))
    [entry] = [e for e in merged if e.msgid == "第一句。"]
    assert entry.msgstr == "The first sentence." and "The 1st sentence." in entry.tcomment  # nothing lost
    # The TMX and the memory take the entry the PO kept, not the duplicate.
    assert "<seg>The first sentence.</seg>" in (project.out / "a.tmx").read_text(encoding="utf-8")
    assert TranslationMemory(project.memory).lookup(["第一句。"])["第一句。"].target == "The first sentence."
    check_outputs(project.out)


# ---------------------------------------------------------------- crashes and concurrency

def many_sentences(count, seed):
    rng = random.Random(seed)
    return "\n".join("".join(rng.choice(COMMON_HANZI) for _ in range(rng.randint(8, 24))) + "。"
                     for _ in range(count)) + "\n"


def start_run(project, *inputs, extra=()):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *map(str, inputs), "--out", str(project.out),
         "--model", str(project.model), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy(),
    )


def test_kill_9_at_random_points_then_rerun(project):
    """Whenever the process dies, outputs are the old ones or the new ones,
    complete and valid; the memory stays usable; a rerun finishes."""
    big = project.document("big.txt", many_sentences(1000, seed=3))
    project.document("a.txt", "第一句。第二句。\n第三句。\n新的一句。\n")  # a's outputs are rewritten too
    # Without the cache every run does the same work; one uninterrupted run
    # says how long that takes, and the kills land anywhere within it:
    # while loading, translating, or writing.
    started = time.monotonic()
    assert start_run(project, big, project.root / "a.txt", extra=["--no-cache"]).wait() == 0
    duration = time.monotonic() - started
    rng = random.Random(2026)
    for share in sorted(rng.uniform(0.05, 1.0) for _ in range(4)):
        process = start_run(project, big, project.root / "a.txt", extra=["--no-cache"])
        time.sleep(share * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        check_outputs(project.out)
        assert_reviews_intact(project)
        assert sqlite3.connect(project.memory).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    result = project.run(big, project.root / "a.txt")
    assert result.returncode == 0, result.stderr.decode()
    assert len(polib.pofile(str(project.out / "big.po"))) == 1000
    check_outputs(project.out)
    assert_reviews_intact(project)


def test_two_runs_at_once_on_the_same_corpus(project):
    big = project.document("big.txt", many_sentences(300, seed=4))
    project.document("a.txt", "第一句。第二句。\n第三句。\n又一句。\n")
    runs = [start_run(project, big, project.root / "a.txt") for _ in range(2)]
    for process in runs:
        assert process.wait(timeout=600) == 0, process.stderr.read().decode()
    assert len(polib.pofile(str(project.out / "big.po"))) == 300
    assert "又一句。" in {e.msgid for e in polib.pofile(str(project.out / "a.po"))}
    check_outputs(project.out)
    assert_reviews_intact(project)
