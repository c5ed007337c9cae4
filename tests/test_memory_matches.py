"""Fuzzy matches from the translation memory: a new sentence like an
approved one gets its translation, scored as CAT tools score it."""

import polib
import pytest
from conftest import run_cli
from lxml import etree

from pipeline.po import entry_notes

APPROVED = {"小米的生态链很大。": "Xiaomi's ecosystem chain is big.", "今天天气很好。": "The weather is fine today."}
# By hand: difflib's ratio is 2 × matched characters / both lengths.
NEW = {
    "小米的生态链很小。": ("小米的生态链很大。", 2 * 8 / 18),  # one character of nine changed: 89%
    "今天天气很好吧。": ("今天天气很好。", 2 * 7 / 15),  # one added to seven: 93%
    "完全不同的句子。": (None, 0.0),
}


@pytest.fixture
def memory_with_approvals(tmp_path, isolated_memory):
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for source, target in APPROVED.items():
        po.append(polib.POEntry(msgid=source, msgstr=target))
    po.save(str(tmp_path / "approved.po"))
    assert run_cli("import-po", tmp_path / "approved.po").returncode == 0
    (tmp_path / "new.txt").write_text("\n".join(NEW) + "\n", encoding="utf-8")
    return tmp_path


def run_new(root, tiny_model, *extra):
    result = run_cli("run", root / "new.txt", "--out", root / "out", "--model", tiny_model, *extra)
    assert result.returncode == 0, result.stderr.decode()
    return {e.msgid: e for e in polib.pofile(str(root / "out" / "new.po"))}, result.stderr.decode()


def test_a_similar_sentence_gets_the_approved_translation_with_its_score(memory_with_approvals, tiny_model):
    root = memory_with_approvals
    entries, log = run_new(root, tiny_model, "--fuzzy-matches", "instead")
    for sentence, (similar, score) in NEW.items():
        entry = entries[sentence]
        assert entry.fuzzy
        if similar is None:
            assert entry.previous_msgid is None and "Machine translation" in entry.comment
            continue
        assert entry.msgstr == APPROVED[similar] and entry.previous_msgid == similar  # Poedit shows the difference
        assert f"Fuzzy match {score:.0%} from the translation memory" in entry.comment
        assert entry_notes(entry.comment).confidence == pytest.approx(round(score, 2))  # the report's score
    assert "2 fuzzy matches from the translation memory, 1 translated by the model" in log
    tmx = etree.parse(str(root / "out" / "new.tmx"))
    scores = [p.text for p in tmx.iterfind(".//prop[@type='x-zhen-match']")]
    assert scores == ["89%", "93%"]

    # A rerun changes nothing: the match is zhen's draft, not a reviewer's edit.
    again, _ = run_new(root, tiny_model, "--fuzzy-matches", "instead")
    assert {k: (e.msgstr, e.fuzzy, e.previous_msgid) for k, e in again.items()} == {
        k: (e.msgstr, e.fuzzy, e.previous_msgid) for k, e in entries.items()
    }
    assert b"reviewer-edit" not in (root / "out" / "new.tmx").read_bytes()


def test_the_threshold_and_the_beside_option(memory_with_approvals, tiny_model):
    root = memory_with_approvals
    entries, _ = run_new(root, tiny_model, "--fuzzy-threshold", "90", "--fuzzy-matches", "instead")
    assert entries["今天天气很好吧。"].msgstr == APPROVED["今天天气很好。"]  # 93% ≥ 90%
    assert entries["小米的生态链很小。"].previous_msgid is None  # 89% < 90%: the model's draft
    entries, _ = run_new(root, tiny_model)  # beside, by default
    entry = entries["今天天气很好吧。"]
    assert entry.msgstr != APPROVED["今天天气很好。"] and "Machine translation" in entry.comment
    assert entry.previous_msgid is None  # the draft is the model's, of this sentence
    offered = (
        f"Check: fuzzy match offered: the translation of “今天天气很好。”, 93% alike: {APPROVED['今天天气很好。']}"
    )
    assert offered in entry.comment
    entries, _ = run_new(root, tiny_model, "--fuzzy-threshold", "101")
    assert all(e.previous_msgid is None for e in entries.values())
