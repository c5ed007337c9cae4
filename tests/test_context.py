"""Context: the sentences around each unit travel with it (TMX props as
memoQ writes them, the memory), and an exact match approved in the same
context is preferred to one from elsewhere."""

import io
import sqlite3
from datetime import datetime, timezone

import polib
from conftest import TMX_DTD, new_memory, run_cli
from lxml import etree

from pipeline.data import Approval
from pipeline.memory import TranslationMemory
from pipeline.store import MEMORY


def approval(target, context, day):
    return Approval("好的。", target, "review.po", datetime(2026, 1, day, tzinfo=timezone.utc), "", context)


def test_an_exact_match_in_the_same_context_comes_first(tmp_path):
    memory = TranslationMemory(new_memory(tmp_path / "tm.sqlite"))
    memory.learn([approval("Fine.", ("你同意吗？", "那就开始吧。"), 1), approval("OK.", ("", ""), 2)])
    same = memory.lookup(["好的。"], {"好的。": ("你同意吗？", "那就开始吧。")})["好的。"]
    assert (same.target, same.context) == ("Fine.", ("你同意吗？", "那就开始吧。"))
    assert memory.lookup(["好的。"], {"好的。": ("别的。", "")})["好的。"].target == "OK."  # else the latest
    assert memory.lookup(["好的。"])["好的。"].target == "OK."


def test_a_run_prefers_the_translation_approved_in_the_same_context(tiny_model, tmp_path, isolated_memory):
    memory = TranslationMemory(isolated_memory)
    memory.learn([approval("Fine.", ("你同意吗？", "那就开始吧。"), 1), approval("OK.", ("天黑了。", ""), 2)])
    document = tmp_path / "doc.txt"
    document.write_text("你同意吗？好的。那就开始吧。\n", encoding="utf-8")
    result = run_cli("run", document, "--out", tmp_path / "out", "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()
    entry = polib.pofile(str(tmp_path / "out" / "doc.po")).find("好的。")
    assert entry.msgstr == "Fine." and "in the same context" in entry.comment


def test_context_is_written_to_the_tmx_and_read_back_by_import_tmx(tiny_model, tmp_path, isolated_memory):
    document = tmp_path / "doc.txt"
    document.write_text("第一句。第二句。第三句。\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("run", document, "--out", out, "--model", tiny_model).returncode == 0
    tree = etree.parse(io.BytesIO((out / "doc.tmx").read_bytes()))
    assert etree.DTD(str(TMX_DTD)).validate(tree)
    middle = next(tu for tu in tree.iterfind("body/tu") if tu.findtext("tuv/seg") == "第二句。")
    props = {p.get("type"): p.text for p in middle.iterfind("prop")}
    assert props["x-context-pre"] == "第一句。" and props["x-context-post"] == "第三句。"
    assert props["x-zhen-location"] == f"{document}:1"

    # Approved, exported as TMX, imported into another memory: the context survives.
    po = polib.pofile(str(out / "doc.po"))
    po.find("第二句。").msgstr, po.find("第二句。").flags = "The second.", []
    po.save()
    assert run_cli("run", document, "--out", out, "--model", tiny_model).returncode == 0
    assert run_cli("export-tm", "-o", tmp_path / "tm.tmx").returncode == 0
    other = new_memory(tmp_path / "other.sqlite")
    assert run_cli("import-tmx", tmp_path / "tm.tmx", "--tm", other).returncode == 0
    found = TranslationMemory(other).lookup(["第二句。"])["第二句。"]
    assert (found.target, found.context) == ("The second.", ("第一句。", "第三句。"))


def test_a_memory_from_before_context_opens_and_keeps_its_approvals(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE approved (key TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL,
        origin TEXT NOT NULL, translator TEXT NOT NULL, approved TEXT NOT NULL, PRIMARY KEY (key, target));
        CREATE TABLE drafts (key TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (key, target)) WITHOUT ROWID;
        INSERT INTO approved VALUES ('好的。', '好的。', 'Fine.', 'a.po', '', '2026-01-01T00:00:00Z');"""
    )
    db.execute(f"PRAGMA application_id={MEMORY.application_id}")
    db.commit()
    db.close()
    memory = TranslationMemory(path)
    assert memory.lookup(["好的。"])["好的。"].target == "Fine."
    # Approved again in a context: the row gets it, and counts as nothing new.
    assert memory.learn([approval("Fine.", ("前。", "后。"), 3)]) == 0
    assert memory.lookup(["好的。"])["好的。"].context == ("前。", "后。")
