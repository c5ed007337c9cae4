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
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polib
import pytest
from conftest import ROOT, check_outputs, new_memory, run_cli

from pipeline.memory import TranslationMemory
from pipeline.po import read_po
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
    memory = new_memory(root / "tm.sqlite")
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
    assert {a.source: a.target for a in TranslationMemory(project.memory).approved()} == APPROVED


def assert_one_line_error(result, message):
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.startswith("zhen: error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr


# ---------------------------------------------------------------- input documents

SIMPLIFIED = "第一段的第一句。第二句！\n第二段。\n"
TRADITIONAL = "這是一個測試。臺灣的繁體中文。\n"


@pytest.mark.parametrize(
    "data, text",
    [
        (SIMPLIFIED.encode("gb18030"), SIMPLIFIED),
        (SIMPLIFIED.encode("gbk"), SIMPLIFIED),
        (TRADITIONAL.encode("big5"), TRADITIONAL),
        (SIMPLIFIED.encode("utf-16"), SIMPLIFIED),  # with a BOM
        (SIMPLIFIED.encode("utf-16-le"), SIMPLIFIED),  # without
        (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), SIMPLIFIED),
        ("第一段\x00的第一句。第二句！\n第二段。\n".encode(), SIMPLIFIED),  # a stray NUL
        ("第一段的第一句。\x1b第二句！\n第二段\x7f。\n".encode(), SIMPLIFIED),  # ESC, DEL
        (SIMPLIFIED.replace("\n", "\r\n").encode("utf-8"), SIMPLIFIED),  # CRLF
        (SIMPLIFIED.replace("\n", "\r").encode("utf-8"), SIMPLIFIED),  # lone CR
    ],
)
def test_encodings_and_line_ends_give_the_same_sentences(project, data, text):
    result = project.run(project.document("b.txt", data))
    assert result.returncode == 0, result.stderr.decode()
    po = polib.pofile(str(project.out / "b.po"))
    assert [e.msgid for e in po] == [s.text for s in segment(text)]
    assert [e.occurrences[0][1] for e in po] == ["1", "1", "2"][: len(po)]  # line numbers survive \r\n, \r
    check_outputs(project.out)
    assert_reviews_intact(project)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        ("caf\xe9 ol\xe9!".encode("latin-1"), "not UTF-8"),  # invalid UTF-8, and no Chinese encoding either
        (b"\x7fELF\x02\x01\x01" + bytes(500), "binary"),
    ],
)
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
    report = (
        "import re, sys; from pipeline.cli import main; code = main(sys.argv[1:]); "
        "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print('peak', peak, file=sys.stderr); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", report, "run", big, "--out", project.out, "--model", project.model, "--progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
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
    '标签</seg></tuv><tuv xml:lang="en"><seg>注入。',
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
    targets = [
        "Tag </seg></tuv> injection.",
        "CDATA end ]]> and &amp; entity.",
        'A forged "\n#, fuzzy\nmsgid " entry.',
        "Placeholders %s, %(count)d and {name}.",
    ]
    from xml.sax.saxutils import escape

    units = "".join(
        f'<tu><tuv xml:lang="zh-CN"><seg>{escape(s)}</seg></tuv><tuv xml:lang="en"><seg>{escape(t)}</seg></tuv></tu>'
        for s, t in zip(BREAKERS, targets, strict=True)
    )
    memory = tmp_path / "import.tmx"
    memory.write_text(f'<tmx version="1.4"><header/><body>{units}</body></tmx>', encoding="utf-8")
    assert run_cli("import-tmx", memory).returncode == 0
    result = project.run(project.document("b.txt", "\n".join(BREAKERS)), extra=["--model", project.root / "none"])
    assert result.returncode == 0, result.stderr.decode()  # all approved: the model is never loaded
    po = polib.pofile(str(project.out / "b.po"))
    assert [(e.msgid, e.msgstr, e.fuzzy) for e in po] == [(s, t, False) for s, t in zip(BREAKERS, targets, strict=True)]
    from translate.storage import tmx

    assert [u.target for u in tmx.tmxfile.parsefile(str(project.out / "b.tmx")).units] == targets
    check_outputs(project.out)


# ---------------------------------------------------------------- malformed files given to the import commands

GOOD_PO = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "第九句。"\nmsgstr "Nine."\n'


@pytest.mark.parametrize(
    "command, content",
    [
        ("import-po", GOOD_PO[:-8].encode("utf-8")),  # truncated inside a string
        ("import-po", b'this is not\n a po file "'),
        ("import-po", b'msgid "\xff\xfe"\nmsgstr "x"\n'),  # not UTF-8
        ("import-po", b"\x00\x01\x02" * 100),
        ("import-tmx", b'<?xml version="1.0"?><tmx version="1.4"><header/><body><tu><tuv xml:lang="zh">'),
        ("import-tmx", b"<html><body>not a memory</body></html>"),
        ("import-tmx", b""),
        ("import-tmx", b"\x00\x01\x02" * 100),
    ],
)
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
    return (
        "\n".join("".join(rng.choice(COMMON_HANZI) for _ in range(rng.randint(8, 24))) + "。" for _ in range(count))
        + "\n"
    )


def start_run(project, *inputs, extra=()):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            *map(str, inputs),
            "--out",
            str(project.out),
            "--model",
            str(project.model),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
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


# ---------------------------------------------------------------- the memory and files zhen has no business touching


def memory_bytes(project):
    return project.memory.read_bytes()


def test_export_over_the_memory_is_refused_whichever_way_round(project):
    """The two paths swapped (`--tm approved.tmx -o zhen-tm.sqlite`), or the
    memory given as the output: the memory is never written over."""
    before = project.snapshot()
    exported = project.root / "approved.tmx"
    assert run_cli("export-tm", "-o", exported).returncode == 0
    assert_one_line_error(
        run_cli("export-tm", "--tm", exported, "-o", project.memory),
        "is not a translation memory (a SQLite database zhen made); to add its translations",
    )
    assert_one_line_error(run_cli("export-tm", "-o", project.memory), "is a SQLite database")
    assert project.snapshot() == before
    cache = project.root / "cache.sqlite"
    assert (
        run_cli("translate", "-", "--model", project.model, "--cache", cache, stdin="你好。".encode()).returncode == 0
    )
    assert_one_line_error(run_cli("export-tm", "-o", cache), "is a SQLite database")
    assert_one_line_error(
        run_cli("import-po", project.out / "a.po", "--tm", cache),
        "is zhen's translation cache, not a translation memory",
    )
    assert_one_line_error(
        run_cli("translate", "-", "--model", project.model, "--cache", project.memory, stdin="你好。".encode()),
        "is zhen's translation memory, not a translation cache",
    )
    assert project.snapshot() == before


@pytest.mark.parametrize(
    "command",
    [
        ("run", "a.txt", "--out", "out"),
        ("import-po", "out/a.po"),
        ("import-tmx", "out/a.tmx"),
        ("export-tm", "-o", "x.tmx"),
    ],
)
def test_a_mistyped_memory_is_an_error_not_a_new_empty_memory(project, command):
    before = project.snapshot()
    typo = project.root / "zhen-tm.sqlit"
    args = [
        project.root / part if part.endswith((".txt", ".po", ".tmx")) or part == "out" else part for part in command
    ]
    result = (
        run_cli(*args, "--tm", typo, "--model", project.model) if command[0] == "run" else run_cli(*args, "--tm", typo)
    )
    assert_one_line_error(result, f"there is no translation memory at {typo} (--tm)")
    assert not typo.exists() and project.snapshot() == before
    result = (
        run_cli(*args, env={"ZHEN_TM": str(typo)})
        if command[0] != "run"
        else run_cli(*args, "--model", project.model, env={"ZHEN_TM": str(typo)})
    )
    assert_one_line_error(result, "($ZHEN_TM); check the path, or start one there with --new-tm")
    assert not typo.exists()


def test_a_new_memory_is_started_only_where_asked(project, tmp_path):
    fresh = tmp_path / "other" / "new-tm.sqlite"
    fresh.parent.mkdir()
    result = run_cli("import-po", project.out / "a.po", "--new-tm", fresh)
    assert result.returncode == 0 and b"starting a new translation memory" in result.stderr
    assert {a.source for a in TranslationMemory(fresh).approved()} == set(APPROVED)
    # In a directory of its own (as make runs), the default memory is started there.
    result = run_cli("import-po", project.out / "a.po", cwd=fresh.parent, env={"ZHEN_TM": ""})
    assert result.returncode == 0 and (fresh.parent / "zhen-tm.sqlite").is_file()
    # export-tm never starts one.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(
        run_cli("export-tm", "-o", "x.tmx", cwd=empty, env={"ZHEN_TM": ""}),
        "there is no translation memory at zhen-tm.sqlite",
    )
    assert list(empty.iterdir()) == []


def test_an_output_linked_outside_its_folder_is_not_written_through(project, tmp_path):
    victim = tmp_path / "elsewhere" / "precious.txt"
    victim.parent.mkdir()
    victim.write_bytes(b"not yours")
    (project.out / "b.tmx").symlink_to(victim)
    assert_one_line_error(project.run(project.document("b.txt", "新的一句。")), "is a symbolic link to")
    assert victim.read_bytes() == b"not yours"
    assert_one_line_error(run_cli("export-tm", "-o", project.out / "b.tmx"), "outside")
    assert victim.read_bytes() == b"not yours" and (project.out / "b.tmx").is_symlink()


def test_special_files_are_never_replaced_and_never_block(project):
    fifo = project.out / "b.po"
    os.mkfifo(fifo)
    before = project.snapshot()
    # A FIFO as the reviewer's PO would block a read forever: refused at once.
    assert_one_line_error(project.run(project.document("b.txt", "新的一句。")), "not a regular file")
    assert_one_line_error(run_cli("export-tm", "-o", fifo), "not a regular file")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and project.snapshot() == before


def test_standard_output_and_dev_null_as_outputs(project):
    same_dates = {"SOURCE_DATE_EPOCH": "1790000000"}
    exported = run_cli("export-tm", "-o", "-", env=same_dates)
    assert (
        exported.returncode == 0 and exported.stdout.startswith(b"<?xml") and b"The first sentence." in exported.stdout
    )
    assert run_cli("export-tm", "-o", "/dev/stdout", env=same_dates).stdout == exported.stdout
    assert run_cli("export-tm", "-o", "/dev/null").returncode == 0
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    aligned = run_cli("align", project.root / "a.txt", project.root / "a.txt", "--no-mt", "--format", "tmx", "-o", "-")
    assert aligned.returncode == 0 and b"<tmx" in aligned.stdout


# ---------------------------------------------------------------- files zhen writes must read back

# Characters that line-based readers take for line ends, or that no text file may hold.
AWKWARD = {
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "NEL": "\x85",
    "VT": "\x0b",
    "FF": "\x0c",
    "FS": "\x1c",
    "GS": "\x1d",
    "RS": "\x1e",
    "CR": "\r",
    "ESC": "\x1b",
    "CSI": "\x9b",
    "DEL": "\x7f",
    "BOM": "\ufeff",
    "noncharacter": "\ufffe",
    "isolate": "\u2068",
}


def test_awkward_characters_in_text_translations_and_file_names_read_back(project):
    """Each in the file name, in the source text, in an approved translation
    and in a reviewer's edit: zhen and msgfmt read back what zhen wrote."""
    chars = "".join(AWKWARD.values())
    document = project.document(f"b{chars}c.txt", "".join(f"第{n}句{c}的话。" for n, c in enumerate(chars)) + "\n")
    assert project.run(document).returncode == 0
    po_path = next(p for p in project.out.glob("b*.po"))
    po = polib.pofile(str(po_path))
    expected = {}
    for n, (entry, char) in enumerate(zip(po, chars * 2, strict=False)):  # a reviewer pastes each character in
        entry.msgstr = f"Sentence {n}{char}."
        if n % 2:
            entry.flags = []
        expected[entry.msgid] = (entry.msgstr, entry.fuzzy)
    po.save()
    for _ in range(2):  # zhen reads back what it wrote, twice over
        result = project.run(document)
        assert result.returncode == 0, result.stderr.decode()
        lines = result.stderr.decode().split("\n")[:-1]
        assert all(line.startswith("zhen: ") for line in lines), lines  # no line broken by a file name
    check_outputs(project.out)
    po = read_po(po_path)
    assert {e.msgid: (e.msgstr, e.fuzzy) for e in po} == expected
    assert all("\n" not in path and "\r" not in path for e in po for path, _ in e.occurrences)


def test_a_file_name_that_is_not_utf8_is_shown_with_a_replacement_character(project):
    raw = os.path.join(os.fsencode(project.root), b"caf\xe9.txt")
    with open(raw, "wb") as file:
        file.write("新的一句。\n".encode())
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", raw, "--out", str(project.out), "--model", str(project.model)],
        cwd=ROOT,
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    po = os.path.join(os.fsencode(project.out), b"caf\xe9.po")
    assert os.path.isfile(po)
    assert "caf\ufffd.txt:1" in Path(os.fsdecode(po)).read_text(encoding="utf-8")
    check_outputs(project.out)
    exported = os.path.join(os.fsencode(project.root), b"m\xe9moire.tmx")
    for command in (["export-tm", "-o", exported], ["import-tmx", exported], ["import-po", po]):
        result = subprocess.run([sys.executable, "-m", "pipeline", *command], cwd=ROOT, capture_output=True)
        assert result.returncode == 0, result.stderr.decode()


# ---------------------------------------------------------------- what a PO or TMX may claim


def test_an_approval_from_the_future_does_not_outrank_later_corrections(project):
    po = polib.pofile(str(project.out / "a.po"))
    po.find("第二句。").msgstr, po.find("第二句。").flags = "Wrong, from the future.", []
    po.metadata["PO-Revision-Date"] = "2999-01-01 00:00+0000"
    po.save()
    assert project.run(project.root / "a.txt").returncode == 0
    po = polib.pofile(str(project.out / "a.po"))
    po.find("第二句。").msgstr = "Right."  # a correction, saved now
    po.metadata["PO-Revision-Date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M%z")
    po.save()
    os.utime(project.out / "a.po")
    assert project.run(project.root / "a.txt").returncode == 0
    memory = TranslationMemory(project.memory)
    assert memory.lookup(["第二句。"])["第二句。"].target == "Right."
    assert all(a.approved <= datetime.now(timezone.utc) for a in memory.approved())


def test_a_tmx_date_from_the_future_is_not_trusted(project, tmp_path):
    units = (
        '<tu changedate="29990101T000000Z"><tuv xml:lang="zh"><seg>第二句。</seg></tuv>'
        '<tuv xml:lang="en"><seg>From 2999.</seg></tuv></tu>'
    )
    future = tmp_path / "future.tmx"
    future.write_text(f'<tmx version="1.4"><header/><body>{units}</body></tmx>', encoding="utf-8")
    assert run_cli("import-tmx", future).returncode == 0
    [approval] = [a for a in TranslationMemory(project.memory).approved() if a.source == "第二句。"]
    assert approval.approved <= datetime.now(timezone.utc)


def test_a_po_whose_charset_cannot_hold_chinese_is_refused(project):
    po = project.out / "a.po"
    po.write_bytes(po.read_bytes().replace(b"charset=UTF-8", b"charset=ISO-8859-1"))
    before = project.snapshot()
    assert_one_line_error(project.run(project.root / "a.txt"), "cannot hold Chinese")
    assert_one_line_error(run_cli("import-po", po), "cannot hold Chinese")
    assert project.snapshot() == before


def test_a_tmx_unit_with_an_entity_reference_is_skipped_and_counted(project, tmp_path):
    body = (
        '<tu><tuv xml:lang="zh"><seg>甲 &x; 乙。</seg></tuv><tuv xml:lang="en"><seg>A &x; B.</seg></tuv></tu>'
        '<tu><tuv xml:lang="zh"><seg>丙。</seg></tuv><tuv xml:lang="en"><seg>C.</seg></tuv></tu>'
    )
    path = tmp_path / "entities.tmx"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY x "thing">]><tmx version="1.4"><header/>'
        f"<body>{body}</body></tmx>",
        encoding="utf-8",
    )
    result = run_cli("import-tmx", path)
    assert result.returncode == 0 and b"1 with an entity reference" in result.stderr
    assert "甲 &x; 乙。" not in {a.source for a in TranslationMemory(project.memory).approved()}
    assert "甲  乙。" not in {a.source for a in TranslationMemory(project.memory).approved()}


# ---------------------------------------------------------------- one-line errors, never a traceback


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--threads", "99999", "argument --threads: expected a whole number from 1 to"),
        ("--beams", "100000", "argument --beams: expected a whole number from 1 to 32"),
        ("--batch-tokens", "1000000000", "argument --batch-tokens: expected a whole number from 1 to 65536"),
        ("--beams", "0", "expected a whole number from 1 to 32"),
    ],
)
def test_numeric_options_are_bounded(project, option, value, message):
    result = project.run(project.root / "a.txt", extra=[option, value])
    assert result.returncode == 2 and message in result.stderr.decode()


@pytest.mark.parametrize("damage", ["source.spm", "model.safetensors", "config.json"])
def test_a_damaged_model_file_is_a_one_line_error(project, tmp_path, damage):
    broken = tmp_path / "broken-model"
    shutil.copytree(project.model, broken)
    (broken / damage).write_bytes(b"junk" * 100)
    before = project.snapshot()
    result = project.run(project.document("b.txt", "新的一句。"), extra=["--model", broken, "-q"])
    assert_one_line_error(result, "broken-model")
    assert project.snapshot() == before


def test_a_memory_locked_by_another_process_is_waited_for_and_said_so(project):
    holder = sqlite3.connect(project.memory, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "import-po", str(project.out / "a.po")],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    first_line = process.stderr.readline().decode()  # said at once, not after a silent minute
    holder.execute("ROLLBACK")
    holder.close()
    assert process.wait(timeout=120) == 0
    assert "waiting for another process to finish writing to the translation memory" in first_line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_leave_complete_files_and_no_temporaries(project, sig):
    big = project.document("big.txt", many_sentences(800, seed=5))
    rng = random.Random(int(sig))
    for delay in (0.05, rng.uniform(0.3, 3)):  # during start-up, then anywhere in the run
        process = start_run(project, big, extra=["--no-cache"])
        time.sleep(delay)
        process.send_signal(sig)
        stderr = process.communicate(timeout=120)[1].decode()
        # On a loaded machine 0.05 s can still be inside Python's own start-up
        # (its site module), before any of zhen's code runs: Python's traceback.
        if "Fatal Python error: init_import_site" not in stderr:
            assert "Traceback" not in stderr, stderr
            if process.returncode:
                assert process.returncode in (128 + sig, -sig) and stderr.count("\n") <= 2, stderr
        assert not list(project.out.glob(".*.tmp"))
        check_outputs(project.out)
        assert_reviews_intact(project)


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(project):
    stale = project.out / ".a.po.999999999.x1y2.tmp"  # no such process
    stale.write_text("half a file")
    mine = project.out / f".a.po.{os.getpid()}.abcd.tmp"  # a live process's: not ours to remove
    mine.write_text("being written")
    assert project.run(project.root / "a.txt").returncode == 0
    assert not stale.exists() and mine.exists()
