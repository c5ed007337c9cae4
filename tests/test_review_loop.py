"""The translator's loop: machine drafts out, reviews in, approved work reused and never lost."""

import os
import time
from datetime import datetime, timezone

import polib
import pytest
from conftest import check_outputs, omegat_translate, run_cli
from lxml import etree

from pipeline.memory import TranslationMemory
from pipeline.run import run

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def units(path):
    """(source, target, x-ConfirmationLevel, changeid) of each unit of a TMX."""
    root = etree.parse(str(path)).getroot()
    return [
        (
            tu.findtext("tuv[1]/seg"),
            tu.findtext("tuv[2]/seg"),
            tu.findtext("prop[@type='x-ConfirmationLevel']"),
            tu.get("changeid"),
        )
        for tu in root.iterfind("body/tu")
    ]


def review(path, approve=(), edit=()):
    """What a reviewer does in Poedit: correct entries, approve some (remove fuzzy), save."""
    po = polib.pofile(str(path))
    for msgid, msgstr in dict(approve).items():
        po.find(msgid).msgstr = msgstr
        po.find(msgid).flags.remove("fuzzy")
    for msgid, msgstr in dict(edit).items():
        po.find(msgid).msgstr = msgstr
    po.metadata["Last-Translator"] = "Li Wei <li@example.com>"
    po.metadata["PO-Revision-Date"] = "2026-11-26 16:00+0800"
    po.save()


def test_review_rerun_reuse_export_and_import(tiny_model, tmp_path, isolated_memory):
    a, out = tmp_path / "a.txt", tmp_path / "out"
    a.write_text("第一句。第二句。\n第三句。\n第四句。\n", encoding="utf-8")
    assert run_cli("run", a, "--out", out, "--model", tiny_model).returncode == 0
    po = polib.pofile(str(out / "a.po"))
    assert all(e.fuzzy for e in po) and {u[2] for u in units(out / "a.tmx")} == {"Draft"}
    draft_four = po.find("第四句。").msgstr

    # 2. The reviewer approves two entries and leaves one edit unfinished.
    review(
        out / "a.po",
        approve={"第一句。": "The first sentence.", "第三句。": "The third."},
        edit={"第二句。": "Second, half done"},
    )

    # 3. The source changes (the third sentence leaves, a fifth arrives) and the run is repeated.
    a.write_text("第一句。第二句。\n第五句。\n第四句。\n", encoding="utf-8")
    result = run_cli("run", a, "--out", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()
    assert b"2 new approved translations" in result.stderr
    po = polib.pofile(str(out / "a.po"))
    state = {e.msgid: (e.msgstr, e.fuzzy) for e in po if not e.obsolete}
    assert state["第一句。"] == ("The first sentence.", False)
    assert state["第二句。"] == ("Second, half done", True)
    assert state["第四句。"] == (draft_four, True)
    assert state["第五句。"][1] is True
    assert [(e.msgid, e.msgstr) for e in po.obsolete_entries()] == [("第三句。", "The third.")]
    assert po.metadata["Last-Translator"] == "Li Wei <li@example.com>"
    tmx = {u[0]: u[1:] for u in units(out / "a.tmx")}
    assert tmx["第一句。"] == ("The first sentence.", "ApprovedTranslation", "Li Wei <li@example.com>")
    assert {tmx[s][1] for s in ("第二句。", "第五句。", "第四句。")} == {"Draft"}
    check_outputs(out)

    # Another document with only approved sentences: no model needed at all.
    b = tmp_path / "b.txt"
    b.write_text("第三句。\n第一句。\n", encoding="utf-8")
    result = run_cli("run", b, "--out", out, "--model", tmp_path / "no-such-model")
    assert result.returncode == 0, result.stderr.decode()
    po = polib.pofile(str(out / "b.po"))
    assert [(e.msgid, e.msgstr, e.fuzzy) for e in po] == [
        ("第三句。", "The third.", False),
        ("第一句。", "The first sentence.", False),
    ]
    assert po.find("第三句。").comment.startswith("Approved translation from the translation memory (approved in ")
    assert {u[2] for u in units(out / "b.tmx")} == {"ApprovedTranslation"}
    check_outputs(out)

    # export-tm: the whole approved memory as one TMX, which another memory imports.
    exported = tmp_path / "export" / "approved.tmx"
    exported.parent.mkdir()
    assert run_cli("export-tm", "-o", exported).returncode == 0
    assert sorted(u[:3] for u in units(exported)) == [
        ("第一句。", "The first sentence.", "ApprovedTranslation"),
        ("第三句。", "The third.", "ApprovedTranslation"),
    ]
    check_outputs(exported.parent)
    other = tmp_path / "other-tm.sqlite"
    result = run_cli("import-tmx", exported, "--new-tm", other)
    assert result.returncode == 0 and b"2 Chinese\xe2\x86\x92English units, 2 new" in result.stderr

    def contents(path):
        return [(a.source, a.target, a.approved, a.translator) for a in TranslationMemory(path).approved()]

    assert contents(other) == contents(isolated_memory)  # who approved what, and when

    # OmegaT, with the approved memory in tm/auto, inserts the approved translations.
    assert omegat_translate(tmp_path, ["第三句。", "第一句。"], {"tm/auto": exported}) == [
        "The third.",
        "The first sentence.",
    ]

    # The run's own TMX holds drafts: importing it adds only the approved units.
    result = run_cli("import-tmx", out / "a.tmx", "--new-tm", tmp_path / "third.sqlite")
    assert b"1 Chinese\xe2\x86\x92English units, 1 new" in result.stderr
    assert b"skipped 3 marked as drafts" in result.stderr


class Recording:
    """A translator that records what it is asked to translate."""

    def __init__(self, translator):
        self.translator, self.name, self.stats, self.asked = translator, translator.name, translator.stats, []

    def translate(self, sentences, progress=None):
        self.asked += sentences
        return self.translator.translate(sentences, progress)


def test_approved_sentences_never_reach_the_model(translators, tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    out = tmp_path / "out"
    first = tmp_path / "first.txt"
    first.write_text("甲。乙。丙。", encoding="utf-8")
    recording = Recording(translators["ctranslate2"])
    run([first], out, lambda: recording, memory)
    assert recording.asked == ["甲。", "乙。", "丙。"]
    review(out / "first.po", approve={"乙。": "B."})

    second = tmp_path / "second.txt"
    second.write_text("乙。丁。乙。", encoding="utf-8")
    recording.asked = []
    run([first, second], out, lambda: recording, memory)
    assert recording.asked == ["甲。", "丙。", "丁。"]
    first = polib.pofile(str(out / "second.po"))[0]
    assert (first.msgid, first.msgstr, first.fuzzy) == ("乙。", "B.", False)


def test_a_document_reviewed_differently_keeps_its_own_approvals(tiny_model, tmp_path):
    """The memory serves the latest approval; a PO's own approved entries win in that PO."""
    out = tmp_path / "out"
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text("同一句。", encoding="utf-8")
        assert run_cli("run", tmp_path / f"{name}.txt", "--out", out, "--model", tiny_model).returncode == 0
    review(out / "a.po", approve={"同一句。": "Version A."})
    po = polib.pofile(str(out / "b.po"))
    po.find("同一句。").msgstr = "Version B."
    po.find("同一句。").flags.remove("fuzzy")
    po.metadata["PO-Revision-Date"] = "2026-11-27 09:00+0000"  # saved later than a.po
    po.save()
    assert run_cli("run", tmp_path / "a.txt", tmp_path / "b.txt", "--out", out, "--model", tiny_model).returncode == 0
    assert polib.pofile(str(out / "a.po")).find("同一句。").msgstr == "Version A."
    assert polib.pofile(str(out / "b.po")).find("同一句。").msgstr == "Version B."
    (tmp_path / "c.txt").write_text("同一句。", encoding="utf-8")
    assert run_cli("run", tmp_path / "c.txt", "--out", out, "--model", tiny_model).returncode == 0
    assert polib.pofile(str(out / "c.po")).find("同一句。").msgstr == "Version B."


def test_no_tm_neither_reads_nor_writes_the_memory(tiny_model, tmp_path, isolated_memory):
    (tmp_path / "a.txt").write_text("第一句。", encoding="utf-8")
    before = isolated_memory.read_bytes()
    assert (
        run_cli("run", tmp_path / "a.txt", "--out", tmp_path / "out", "--model", tiny_model, "--no-tm").returncode == 0
    )
    assert isolated_memory.read_bytes() == before
    assert sorted(p.name for p in isolated_memory.parent.iterdir()) == ["zhen-tm.sqlite"]


@pytest.mark.parametrize("command", ["import-tmx", "import-po"])
def test_import_of_a_missing_file_is_a_one_line_error(tmp_path, command):
    result = run_cli(command, tmp_path / "nothing.xml")
    assert result.returncode == 1 and result.stderr.decode().startswith("zhen: error: cannot read ")


def run_docs(tiny_model, out, *docs):
    result = run_cli("run", *docs, "--out", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()


def approve(path, msgid, msgstr, saved):
    po = polib.pofile(str(path))
    po.find(msgid).msgstr = msgstr
    po.find(msgid).flags = []
    po.metadata["PO-Revision-Date"] = saved
    po.save()


def test_a_correction_outranks_stale_copies_in_other_files(tiny_model, tmp_path):
    """doc2 holds a copy of an approval the memory gave it; correcting the
    approval in doc1 must win, even after doc2 is saved again later."""
    out, docs = tmp_path / "out", []
    for name in ("doc1", "doc2"):
        docs.append(tmp_path / f"{name}.txt")
        docs[-1].write_text("甲句。乙句。", encoding="utf-8")
    run_docs(tiny_model, out, docs[0])
    approve(out / "doc1.po", "甲句。", "Wrong.", "2026-01-01 09:00+0000")
    run_docs(tiny_model, out, *docs)
    assert polib.pofile(str(out / "doc2.po")).find("甲句。").msgstr == "Wrong."
    approve(out / "doc1.po", "甲句。", "Right.", "2026-02-01 09:00+0000")
    approve(out / "doc2.po", "乙句。", "B.", "2026-03-01 09:00+0000")  # doc2 saved later
    run_docs(tiny_model, out, *docs)
    (tmp_path / "doc3.txt").write_text("甲句。", encoding="utf-8")
    run_docs(tiny_model, out, tmp_path / "doc3.txt")
    assert polib.pofile(str(out / "doc3.po")).find("甲句。").msgstr == "Right."
    # doc2 keeps its own approved entry, and its TMX says where it was approved.
    assert polib.pofile(str(out / "doc2.po")).find("甲句。").msgstr == "Wrong."
    assert "Approved in " + str(out / "doc1.po") in (out / "doc2.tmx").read_text(encoding="utf-8")


def test_a_reviewer_can_take_an_approval_back(tiny_model, tmp_path):
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("甲句。", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    approve(out / "doc.po", "甲句。", "First try.", "2026-01-01 09:00+0000")
    run_docs(tiny_model, out, doc)
    po = polib.pofile(str(out / "doc.po"))
    po.find("甲句。").flags = ["fuzzy"]  # not sure after all
    po.save()
    run_docs(tiny_model, out, doc)
    entry = polib.pofile(str(out / "doc.po")).find("甲句。")
    assert (entry.msgstr, entry.fuzzy) == ("First try.", True)
    assert units(out / "doc.tmx")[0][2] == "Draft"


def test_an_approval_saved_while_the_model_translates_is_learned_and_marked(translators, tmp_path):
    memory, out = TranslationMemory(tmp_path / "tm.sqlite"), tmp_path / "out"
    doc = tmp_path / "doc.txt"
    doc.write_text("甲。乙。", encoding="utf-8")
    run([doc], out, lambda: translators["ctranslate2"], memory)
    doc.write_text("甲。乙。丙。", encoding="utf-8")

    class ReviewerSavesMeanwhile(Recording):
        def translate(self, sentences, progress=None):
            approve(out / "doc.po", "甲。", "A.", "2026-11-26 10:00+0000")
            return super().translate(sentences, progress)

    run([doc], out, lambda: ReviewerSavesMeanwhile(translators["ctranslate2"]), memory)
    assert polib.pofile(str(out / "doc.po")).find("甲。").msgstr == "A."
    assert [u[1:3] for u in units(out / "doc.tmx") if u[0] == "甲。"] == [("A.", "ApprovedTranslation")]
    assert memory.lookup(["甲。"])["甲。"].target == "A."


def test_entries_zhen_never_writes_are_kept_and_not_learned(tiny_model, tmp_path, isolated_memory):
    """An entry with a context or plural forms, added by hand or by another
    tool, is not a sentence of the document: it is kept (obsolete), not learned."""
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("公园。", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    path = out / "doc.po"
    path.write_text(
        path.read_text(encoding="utf-8")
        + (
            '\nmsgctxt "menu"\nmsgid "公园。"\nmsgstr "Park trip"\n'
            '\nmsgid "一个文件"\nmsgid_plural "%d 个文件"\nmsgstr[0] "one file"\nmsgstr[1] "%d files"\n'
        ),
        encoding="utf-8",
    )
    run_docs(tiny_model, out, doc)
    po = polib.pofile(str(path))
    assert po.find("公园。").fuzzy  # the live entry is still the machine draft
    kept = {(e.msgctxt, e.msgid): e for e in po.obsolete_entries()}
    assert kept[("menu", "公园。")].msgstr == "Park trip"
    assert kept[(None, "一个文件")].msgstr_plural == {0: "one file", 1: "%d files"}
    assert TranslationMemory(isolated_memory).approved() == []
    check_outputs(out)


def test_a_legacy_charset_po_is_rewritten_as_what_it_is(tiny_model, tmp_path):
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("甲句。", encoding="utf-8")
    out.mkdir()
    (out / "doc.po").write_bytes(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=GBK\\n"\n"Language: en\\n"\n\n'
        'msgid "甲句。"\nmsgstr "Sentence A。"\n'.encode("gbk")
    )
    run_docs(tiny_model, out, doc)
    po = polib.pofile(str(out / "doc.po"))
    assert po.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert po.find("甲句。").msgstr == "Sentence A。"
    check_outputs(out)


def test_an_edited_sentence_is_offered_its_old_reviewed_translation(tiny_model, tmp_path):
    """As msgmerge does: fuzzy, with the old msgid as #| for the editor to show the change."""
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("我们明天上午十点在会议室开会。今天下雨。\n", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    approve(
        out / "doc.po",
        "我们明天上午十点在会议室开会。",
        "We meet in the meeting room at 10 tomorrow.",
        "2026-11-26 10:00+0000",
    )
    approve(out / "doc.po", "今天下雨。", "It rains today.", "2026-11-26 10:00+0000")
    doc.write_text("我们明天上午十一点在会议室开会。今天天晴。\n", encoding="utf-8")  # 十点 → 十一点; rain → sun
    run_docs(tiny_model, out, doc)
    po = polib.pofile(str(out / "doc.po"))
    edited = po.find("我们明天上午十一点在会议室开会。")
    assert (edited.msgstr, edited.fuzzy) == ("We meet in the meeting room at 10 tomorrow.", True)
    assert edited.previous_msgid == "我们明天上午十点在会议室开会。"
    assert "the sentence changed" in edited.comment
    assert po.find("今天天晴。").msgstr != "It rains today."  # too different: a fresh draft
    assert [e.msgid for e in po.obsolete_entries()] == ["今天下雨。"]
    assert '#| msgid "我们明天上午十点在会议室开会。"' in (out / "doc.po").read_text(encoding="utf-8")
    check_outputs(out)


def tmx_unit(path, source):
    """The <tu> of ``source`` in a TMX."""
    return next(
        tu
        for tu in etree.parse(str(path)).getroot().iterfind("body/tu")
        if "".join(tu.find("tuv[1]/seg").itertext()) == source  # placeholders are inline codes holding them
    )


def test_comments_say_where_an_approval_was_made(tiny_model, tmp_path):
    out = tmp_path / "out"
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text("同一句。", encoding="utf-8")
    run_docs(tiny_model, out, tmp_path / "a.txt")
    review(out / "a.po", approve={"同一句。": "The same sentence."})
    run_docs(tiny_model, out, tmp_path / "a.txt", tmp_path / "b.txt")
    assert (
        polib.pofile(str(out / "a.po"))
        .find("同一句。")
        .comment.startswith("Approved in this file by Li Wei <li@example.com> on ")
    )
    assert (
        polib.pofile(str(out / "b.po"))
        .find("同一句。")
        .comment.startswith(f"Approved translation from the translation memory (approved in {out / 'a.po'} by Li Wei")
    )


def test_an_approval_is_dated_when_the_file_was_saved_if_the_editor_did_not_say(tiny_model, tmp_path):
    """A script or text editor leaves PO-Revision-Date as zhen wrote it; the
    file's modification time is then when the reviewer approved."""
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("甲句。", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    po = polib.pofile(str(out / "doc.po"))
    po.find("甲句。").msgstr, po.find("甲句。").flags = "Sentence A.", []
    po.save()  # PO-Revision-Date untouched
    saved = int(time.time())  # after zhen wrote the file; not the PO-Revision-Date zhen wrote
    os.utime(out / "doc.po", (saved, saved))
    run_docs(tiny_model, out, doc)
    tu = tmx_unit(out / "doc.tmx", "甲句。")
    expected = datetime.fromtimestamp(saved, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert tu.get("changedate") == tu.get("creationdate") == expected


def test_the_tmx_carries_a_reviewers_unapproved_edit_as_a_draft(tiny_model, tmp_path):
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("甲句。乙句。", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    draft = polib.pofile(str(out / "doc.po")).find("甲句。").msgstr
    review(out / "doc.po", edit={"甲句。": "Sentence A, half done"})
    run_docs(tiny_model, out, doc)
    tu = tmx_unit(out / "doc.tmx", "甲句。")
    assert tu.findtext("tuv[2]/seg") == "Sentence A, half done"
    assert tu.findtext("prop[@type='x-ConfirmationLevel']") == "Draft"
    assert tu.findtext("prop[@type='x-zhen-origin']") == "reviewer-edit"
    assert f"the machine translation: {draft}" in [n.text for n in tu.iterfind("note")][-1]
    check_outputs(out)


def test_a_persons_translation_is_checked_for_what_it_drops(tiny_model, tmp_path):
    """Approved, so neither fuzzy nor of lower confidence; but the number and
    the placeholder it lost are said in the PO and the TMX."""
    doc, out = tmp_path / "doc.txt", tmp_path / "out"
    doc.write_text("共有 25 个文件，%s 已删除。\n", encoding="utf-8")
    run_docs(tiny_model, out, doc)
    review(out / "doc.po", approve={"共有 25 个文件，%s 已删除。": "Some files were deleted."})
    run_docs(tiny_model, out, doc)
    entry = polib.pofile(str(out / "doc.po")).find("共有 25 个文件，%s 已删除。")
    assert not entry.fuzzy and "Check: numbers missing: 25" in entry.comment
    assert "Check: placeholders missing: %s" in entry.comment
    notes = [n.text for n in tmx_unit(out / "doc.tmx", "共有 25 个文件，%s 已删除。").iterfind("note")]
    assert "numbers missing: 25" in notes and "placeholders missing: %s" in notes
    check_outputs(out)
