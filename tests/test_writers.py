import subprocess
from datetime import datetime, timezone

import polib
import pytest
from conftest import TMX_DTD, require_tool
from lxml import etree

from pipeline.data import Provenance, Unit
from pipeline.errors import ZhenError
from pipeline.memory import TranslationMemory
from pipeline.po import machine_drafts, po_file, write_po
from pipeline.tmx import tmx_bytes, write_tmx

PROVENANCE = Provenance(model="Helsinki-NLP/opus-mt-zh-en", created=datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc))
HOSTILE = [
    ("正常的句子。", "A normal sentence."),
    ('</seg></tuv><tuv xml:lang="en"><seg>注入', "</seg> injection & <b>bold</b>"),
    ("CDATA 结尾 ]]> 和 &amp; 实体", "CDATA end ]]> and &amp; entity"),
    ('"\n#, fuzzy\nmsgid "伪造的条目', 'forged "entry"\n#~ msgstr "x"'),
    ("占位符 %s 和 {name} 和 %(count)d", "placeholders %s and {name} and %(count)d"),
    ("控制字符\x00\x07\x1b\ufffe", "control\x0b characters\x1f"),
    ("反斜杠 \\n 和制表符\t", "backslash \\n and tab\t"),
]


def units_of(pairs):
    return [
        Unit(source=s, target=t, confidence=0.5, warnings=("numbers missing: 80",), locations=(("a b.txt", i + 1),))
        for i, (s, t) in enumerate(pairs)
    ]


def expected_text(text):
    """What a writer keeps: control characters dropped, outer whitespace trimmed."""
    return "".join(c for c in text if c in "\t\n" or (ord(c) >= 32 and c != "\ufffe")).strip()


def test_tmx_is_valid_tmx_14b():
    root = etree.fromstring(tmx_bytes(units_of(HOSTILE), PROVENANCE))
    dtd = etree.DTD(str(TMX_DTD))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    header = root.find("header")
    assert header.attrib == {
        "creationtool": "zhen",
        "creationtoolversion": header.get("creationtoolversion"),
        "segtype": "sentence",
        "o-tmf": "zhen",
        "adminlang": "en",
        "srclang": "zh-CN",
        "datatype": "plaintext",
        "creationdate": "20261126T083000Z",
    }


def test_tmx_round_trips_hostile_text_exactly():
    root = etree.fromstring(tmx_bytes(units_of(HOSTILE), PROVENANCE))
    tus = root.findall("body/tu")
    assert len(tus) == len(HOSTILE)
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for line, (tu, (source, target)) in enumerate(zip(tus, HOSTILE, strict=True), start=1):
        tuvs = tu.findall("tuv")
        assert [t.get(lang) for t in tuvs] == ["zh-CN", "en"]
        # Markup in the text is inline codes (<bpt>, <ph> ...) holding it: read as itself.
        assert ["".join(t.find("seg").itertext()) for t in tuvs] == [expected_text(source), expected_text(target)]
        props = {p.get("type"): p.text for p in tu.findall("prop")}
        assert props == {
            "x-ConfirmationLevel": "Draft",
            "x-zhen-confidence": "0.500",
            "x-zhen-origin": "machine-translation",
            "x-zhen-model": "Helsinki-NLP/opus-mt-zh-en",
            "x-zhen-location": f"a b.txt:{line}",
        }
        assert [n.text for n in tu.findall("note")] == ["numbers missing: 80"]


def test_tmx_is_read_by_translate_toolkit(tmp_path):
    from translate.storage import tmx

    path = tmp_path / "x.tmx"
    write_tmx(units_of(HOSTILE), path, PROVENANCE)
    store = tmx.tmxfile.parsefile(str(path))
    assert [(u.source, u.target) for u in store.units] == [(expected_text(s), expected_text(t)) for s, t in HOSTILE]


def test_po_round_trips_hostile_text_exactly(tmp_path):
    path = tmp_path / "x.po"
    write_po(units_of(HOSTILE), path, PROVENANCE, "corpus/a b.txt")
    po = polib.pofile(str(path))
    assert [(e.msgid, e.msgstr) for e in po] == [(expected_text(s), expected_text(t)) for s, t in HOSTILE]
    assert all(e.fuzzy for e in po)
    assert (
        po[0].comment
        == "Machine translation by Helsinki-NLP/opus-mt-zh-en; confidence 0.50\nCheck: numbers missing: 80"
    )
    # A file name with a space is isolated the way GNU gettext does it.
    assert "#: \u2068a b.txt\u2069:2\n" in path.read_text(encoding="utf-8")


def test_po_header():
    po = po_file(units_of(HOSTILE[:1]), PROVENANCE, "corpus/doc.zh.txt")
    meta = po.metadata
    assert meta["Language"] == "en"
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"
    assert meta["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert meta["X-Generator"].startswith("zhen ")
    assert meta["PO-Revision-Date"] == "2026-11-26 08:30+0000"
    assert "fuzzy" in po.header


def test_msgfmt_accepts_the_po(tmp_path):
    msgfmt = require_tool("msgfmt")
    path = tmp_path / "x.po"
    write_po(units_of(HOSTILE), path, PROVENANCE, "corpus/doc.zh.txt")
    result = subprocess.run(
        [msgfmt, "--check", "--check-header", "-o", "/dev/null", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_empty_document_gives_valid_files(tmp_path):
    root = etree.fromstring(tmx_bytes([], PROVENANCE))
    assert etree.DTD(str(TMX_DTD)).validate(root)
    write_po([], tmp_path / "x.po", PROVENANCE, "empty.txt")
    assert len(polib.pofile(str(tmp_path / "x.po"))) == 0


@pytest.mark.parametrize("writer", ["tmx", "po"])
def test_writers_are_deterministic(tmp_path, writer):
    units = units_of(HOSTILE)
    if writer == "tmx":
        first, second = tmx_bytes(units, PROVENANCE), tmx_bytes(units, PROVENANCE)
    else:
        first, second = (str(po_file(units, PROVENANCE, "doc.txt")) for _ in range(2))
    assert first == second


def review(path, approve, fuzzy_edit=None):
    """Edit a PO as a reviewer would in Poedit: correct and approve some entries."""
    po = polib.pofile(str(path))
    for msgid, msgstr in approve.items():
        entry = po.find(msgid)
        entry.msgstr = msgstr
        entry.flags.remove("fuzzy")
        entry.tcomment = "checked against the glossary"
    for msgid, msgstr in (fuzzy_edit or {}).items():
        po.find(msgid).msgstr = msgstr
    po.metadata["Last-Translator"] = "Li Wei <li@example.com>"
    po.save()


def write_recorded(units, path, memory):
    """write_po as a run does it: the memory records the drafts first."""
    memory.remember_drafts(machine_drafts(units))
    write_po(units, path, PROVENANCE, "doc.txt", memory.is_machine_draft)


def test_rewriting_a_po_merges_the_reviewers_work_as_msgmerge_would(tmp_path):
    path, memory = tmp_path / "doc.po", TranslationMemory(tmp_path / "tm.sqlite")
    first = units_of(
        [("第一句。", "MT one."), ("第二句。", "MT two."), ("第三句。", "MT three."), ("第五句。", "MT five.")]
    )
    write_recorded(first, path, memory)
    review(
        path,
        approve={"第一句。": "The first sentence.", "第三句。": "The third."},
        fuzzy_edit={"第二句。": "Half-done edit"},
    )

    # The document changed (the third sentence left, a fourth arrived) and so did the MT.
    second = units_of(
        [
            ("第一句。", "New MT one."),
            ("第二句。", "New MT two."),
            ("第四句。", "MT four."),
            ("第五句。", "New MT five."),
        ]
    )
    write_recorded(second, path, memory)
    po = polib.pofile(str(path))
    entries = {e.msgid: e for e in po}
    assert (entries["第一句。"].msgstr, entries["第一句。"].fuzzy) == ("The first sentence.", False)
    assert entries["第一句。"].tcomment == "checked against the glossary"
    # An edit not yet approved stays, still fuzzy, with the current suggestion beside it.
    assert (entries["第二句。"].msgstr, entries["第二句。"].fuzzy) == ("Half-done edit", True)
    assert "The suggestion now: New MT two." in entries["第二句。"].comment
    # A draft nobody touched follows the model.
    assert (entries["第五句。"].msgstr, entries["第五句。"].fuzzy) == ("New MT five.", True)
    assert (entries["第四句。"].msgstr, entries["第四句。"].fuzzy) == ("MT four.", True)
    assert [(e.msgid, e.msgstr) for e in po.obsolete_entries()] == [("第三句。", "The third.")]
    assert po.metadata["Last-Translator"] == "Li Wei <li@example.com>"

    # The third sentence comes back: its approved translation is revived.
    write_recorded(first, path, memory)
    entries = {e.msgid: e for e in polib.pofile(str(path)) if not e.obsolete}
    assert (entries["第三句。"].msgstr, entries["第三句。"].fuzzy) == ("The third.", False)


def test_without_a_memory_an_unknown_fuzzy_text_counts_as_an_edit(tmp_path):
    """Without the record of drafts, a fuzzy entry that differs from the new
    MT might be a person's work: it is kept rather than risked."""
    path = tmp_path / "doc.po"
    write_po(units_of([("第一句。", "MT one.")]), path, PROVENANCE, "doc.txt")
    write_po(units_of([("第一句。", "New MT one.")]), path, PROVENANCE, "doc.txt")
    entry = polib.pofile(str(path)).find("第一句。")
    assert (entry.msgstr, entry.fuzzy) == ("MT one.", True)


def test_a_merged_po_passes_msgfmt(tmp_path):
    msgfmt = require_tool("msgfmt")
    path = tmp_path / "doc.po"
    write_po(units_of(HOSTILE), path, PROVENANCE, "doc.txt")
    review(path, approve={expected_text(HOSTILE[1][0]): "Reviewed </seg> & ]]>"})
    write_po(units_of(HOSTILE[2:]), path, PROVENANCE, "doc.txt")
    result = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "content",
    [b'this is not\n a po file "', b'msgid "\xff"\nmsgstr ""\n', b'msgid "abc"\nmsgstr "trunc'],
)
def test_an_unreadable_po_at_the_output_path_is_never_overwritten(tmp_path, content):
    path = tmp_path / "doc.po"
    path.write_bytes(content)
    with pytest.raises(ZhenError, match=r"cannot be read as a PO file.*nothing was written"):
        write_po(units_of(HOSTILE[:1]), path, PROVENANCE, "doc.txt")
    assert path.read_bytes() == content


def test_references_to_long_paths_with_spaces_stay_whole(tmp_path):
    path = tmp_path / "x.po"
    folder = "my documents/a rather long folder name for the annual report/"
    units = [Unit("第一句。", "One.", 1.0, (), tuple((folder + "b-c*d.txt", n) for n in (1, 5, 9)))]
    write_po(units, path, PROVENANCE, folder + "b-c*d.txt")
    reference = f"\u2068{folder}b-c*d.txt\u2069"
    assert f"#: {reference}:1 {reference}:5 {reference}:9\n" in path.read_text(encoding="utf-8")


def test_merge_survives_a_hand_edited_file_with_a_duplicated_entry(tmp_path):
    msgfmt = require_tool("msgfmt")
    path = tmp_path / "doc.po"
    write_po(units_of([("第一句。", "MT one."), ("第二句。", "MT two.")]), path, PROVENANCE, "doc.txt")
    text = path.read_text(encoding="utf-8").replace('msgstr "MT one."', 'msgstr "One."').replace("#, fuzzy\n", "", 1)
    duplicate = '\n#, fuzzy\nmsgid "第一句。"\nmsgstr "Draft one."\n'
    path.write_text(text + duplicate + '\nmsgid "第一句。"\nmsgstr "Approved twice."\n', encoding="utf-8")
    po = polib.pofile(str(path))
    po.metadata["Language"] = "en_GB"
    po.metadata["X-Poedit-Basepath"] = "."
    po.save()

    write_po(units_of([("第二句。", "MT two.")]), path, PROVENANCE, "doc.txt")
    po = polib.pofile(str(path))
    assert [(e.msgid, e.msgstr) for e in po.obsolete_entries()] == [("第一句。", "One.")]
    assert (po.metadata["Language"], po.metadata["X-Poedit-Basepath"]) == ("en_GB", ".")
    result = subprocess.run([msgfmt, "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_read_only_and_linked_outputs(tmp_path):
    from pipeline.textio import atomic_write

    review_copy = tmp_path / "shared" / "doc.po"
    review_copy.parent.mkdir()
    review_copy.write_bytes(b"old")
    review_copy.chmod(0o640)
    link = tmp_path / "doc.po"
    link.symlink_to(review_copy)
    atomic_write(link, b"new")
    assert link.is_symlink() and review_copy.read_bytes() == b"new"
    assert review_copy.stat().st_mode & 0o777 == 0o640

    review_copy.chmod(0o444)
    with pytest.raises(ZhenError, match="read-only"):
        atomic_write(link, b"newer")
    assert review_copy.read_bytes() == b"new"
