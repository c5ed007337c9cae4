"""Terminology: glossaries read from TBX and CSV, terms found only where they
are words, enforced through the tiny random model (whose noise never uses a
term by chance), and checked in translations people wrote."""

import io
import os
import re
import time
from pathlib import Path

import polib
import pytest
from conftest import TMX_DTD, check_outputs, run_cli, run_make
from lxml import etree

from pipeline.glossary import read_glossary

DATA = Path(__file__).parent / "data" / "terminology"
EXPECTED = {"小米": "Xiaomi", "生态链": "ecosystem chain", "小米生态链": "Xiaomi Ecosystem", "有品": "Youpin"}
# Sentences with terms, and sentences with look-alikes that are not terms there.
WITH_TERMS = ["小米生态链的企业很多。", "小米的生态链很大，有品也是。", "他在小米工作了三年。"]
WITHOUT_TERMS = ["我喜欢喝小米粥。", "有品质的产品更好卖。", "今天天气很好。"]


@pytest.mark.parametrize("name", ["glossary.tbx", "glossary.csv"])
def test_tbx_and_csv_give_the_same_terms(name):
    glossary = read_glossary(DATA / name)
    # TBX: the preferred form first, a deprecated one never, a concept without English no term;
    # CSV: the first form unless the note prefers another.
    assert {term.source: term.target for term in glossary.terms.values()} == EXPECTED
    assert glossary.name == name and re.fullmatch(r"[0-9a-f]{12}", glossary.version)


def test_both_files_have_the_same_version_and_tbx_v3_reads_too():
    assert read_glossary(DATA / "glossary.tbx").version == read_glossary(DATA / "glossary.csv").version
    assert {t.source: t.target for t in read_glossary(DATA / "glossary-v3.tbx").terms.values()} == {"小米": "Xiaomi"}


def test_the_tbx_file_has_the_structure_of_tbx_basic():
    # No TBX-Basic schema is packaged for PyPI or Debian: its core structure is checked here.
    root = etree.parse(str(DATA / "glossary.tbx")).getroot()
    assert root.tag == "martif" and root.get("type") == "TBX-Basic"
    assert root.find("martifHeader/fileDesc") is not None and root.find("text/body") is not None
    for entry in root.iterfind("text/body/termEntry"):
        assert entry.get("id") and entry.findall("langSet")
        for language in entry.iterfind("langSet"):
            assert language.get("{http://www.w3.org/XML/1998/namespace}lang")
            for holder in language:
                assert holder.tag in ("tig", "ntig") and holder.find(".//term") is not None


def test_terms_are_found_as_words_longest_first():
    glossary = read_glossary(DATA / "glossary.csv")

    def found(text):
        return [text[start:end] for start, end, _ in glossary.find(text)]

    assert found("小米生态链的企业很多。") == ["小米生态链"]  # the longest term, not 小米 inside it
    assert found("小米的生态链很大，有品也是。") == ["小米", "生态链", "有品"]
    assert found("我喜欢喝小米粥。") == []  # 小米粥 (millet porridge) is a word of its own
    assert found("有品质的产品更好卖。") == []  # 有 + 品质, not 有品
    assert found("小米有品商城") == ["小米", "有品"]


@pytest.fixture(scope="module")
def runs(tiny_model, tmp_path_factory):
    """The same document run with and without the glossary."""
    root = tmp_path_factory.mktemp("terms")
    document = root / "doc.txt"
    document.write_text("\n".join(WITH_TERMS + WITHOUT_TERMS + ["小米。"]) + "\n", encoding="utf-8")
    outputs = {}
    for name, extra in (("plain", []), ("glossary", ["--glossary", DATA / "glossary.tbx"])):
        out = root / name
        result = run_cli("run", document, "--out", out, "--model", tiny_model, "--no-tm", *extra)
        assert result.returncode == 0, result.stderr.decode()
        outputs[name] = out
    return outputs


def translations(out: Path) -> dict[str, str]:
    return {e.msgid: e.msgstr for e in polib.pofile(str(out / "doc.po"))}


def test_every_term_reaches_the_output_exactly(runs):
    glossary = read_glossary(DATA / "glossary.tbx")
    translated = translations(runs["glossary"])
    for sentence in WITH_TERMS:
        for _, _, term in glossary.find(sentence):
            assert term.target in translated[sentence], (sentence, translated[sentence])
    assert translated["小米。"] == "Xiaomi."  # terms alone need no model
    # Without the glossary the noise never holds them.
    plain = translations(runs["plain"])
    assert not any(english in plain[s] for s in WITH_TERMS for english in EXPECTED.values())


def test_sentences_without_terms_translate_as_without_a_glossary(runs):
    with_glossary, plain = translations(runs["glossary"]), translations(runs["plain"])
    for sentence in WITHOUT_TERMS:
        assert with_glossary[sentence] == plain[sentence]


def test_the_po_and_tmx_say_which_glossary_and_terms_applied(runs):
    out = runs["glossary"]
    check_outputs(out)  # the TMX with its glossary props still valid against the DTD
    glossary = read_glossary(DATA / "glossary.tbx")
    entries = {e.msgid: e for e in polib.pofile(str(out / "doc.po"))}
    assert (
        f"Glossary {glossary.label}: 小米 → Xiaomi; 生态链 → ecosystem chain; 有品 → Youpin"
        in entries[WITH_TERMS[1]].comment
    )
    assert "Glossary" not in entries[WITHOUT_TERMS[0]].comment
    tree = etree.parse(io.BytesIO((out / "doc.tmx").read_bytes()))
    assert etree.DTD(str(TMX_DTD)).validate(tree)
    labelled = {
        tu.find("tuv/seg").text: tu.findtext("prop[@type='x-zhen-glossary']") for tu in tree.iterfind("body/tu")
    }
    assert all(labelled[s] == glossary.label for s in WITH_TERMS)
    assert all(labelled[s] is None for s in WITHOUT_TERMS)


def test_a_translation_people_wrote_without_the_term_is_flagged(tmp_path):
    (tmp_path / "zh.txt").write_text("小米的生态链很大。我喜欢喝小米粥。\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text("Mi has a huge ecosystem chain. I like millet porridge.\n", encoding="utf-8")
    output = tmp_path / "aligned.po"
    result = run_cli(
        "align", tmp_path / "zh.txt", tmp_path / "en.txt", "--no-mt", "-o", output, "--glossary", DATA / "glossary.csv"
    )
    assert result.returncode == 0, result.stderr.decode()
    entries = {e.msgid: e.comment for e in polib.pofile(str(output))}
    assert "Check: glossary term not used: 小米 → Xiaomi" in entries["小米的生态链很大。"]
    assert "not used: 生态链" not in entries["小米的生态链很大。"]  # used: no warning
    assert "glossary" not in entries["我喜欢喝小米粥。"].lower()  # no term there


def test_an_approved_entry_without_the_term_is_flagged_on_the_next_run(runs, tiny_model):
    out = runs["glossary"]
    po = polib.pofile(str(out / "doc.po"))
    entry = po.find(WITH_TERMS[2])
    entry.msgstr, entry.flags = "He worked at Mi for three years.", []
    po.save()
    document = out.parent / "doc.txt"
    result = run_cli(
        "run", document, "--out", out, "--model", tiny_model, "--no-tm", "--glossary", DATA / "glossary.tbx"
    )
    assert result.returncode == 0, result.stderr.decode()
    comment = polib.pofile(str(out / "doc.po")).find(WITH_TERMS[2]).comment
    assert "glossary term not used: 小米 → Xiaomi" in comment


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read"),
        ("<martif><text><body>", "cannot be read as a glossary"),
        ("name,value\nfoo,bar\n", "names no zh and en columns"),
        ("zh,en\n", "holds no Chinese term"),
        (  # an external entity: never fetched, never expanded, the term not taken
            '<?xml version="1.0"?><!DOCTYPE martif [<!ENTITY s SYSTEM "file:///etc/passwd">]><martif><text><body>'
            '<termEntry><langSet xml:lang="zh"><tig><term>小米</term></tig></langSet>'
            '<langSet xml:lang="en"><tig><term>&s;</term></tig></langSet></termEntry></body></text></martif>',
            "holds no Chinese term",
        ),
    ],
)
def test_a_bad_glossary_is_a_one_line_error_before_the_model_loads(tmp_path, content, message):
    path = tmp_path / ("terms.tbx" if content and content.startswith("<") else "terms.csv")
    if content is not None:
        path.write_text(content, encoding="utf-8")
    (tmp_path / "doc.txt").write_text("小米。\n", encoding="utf-8")
    # No such model: the glossary's error comes first.
    result = run_cli(
        "run", tmp_path / "doc.txt", "--out", tmp_path / "out", "--model", tmp_path / "nothing", "--glossary", path
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1 and message in stderr and stderr.count("\n") == 1, stderr
    assert not (tmp_path / "out").exists()


def test_make_takes_a_glossary_and_redoes_documents_when_it_changes(tiny_model, tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "doc.txt").write_text("他在小米工作了三年。\n", encoding="utf-8")
    glossary = tmp_path / "terms.csv"
    glossary.write_text("zh,en\n小米,Xiaomi\n", encoding="utf-8")

    def make_run():
        result = run_make(tmp_path, tiny_model, f"GLOSSARY={glossary}", "ZHEN_OPTS=--no-tm")
        assert result.returncode == 0, result.stdout + result.stderr
        return " run " in result.stdout, (tmp_path / "out" / "doc.en.txt").read_text(encoding="utf-8")

    ran, text = make_run()
    assert ran and "Xiaomi" in text
    ran, text = make_run()
    assert not ran and "Xiaomi" in text  # nothing changed, nothing redone
    os.utime(glossary, (time.time() + 2,) * 2)
    glossary.write_text("zh,en\n小米,Mi\n", encoding="utf-8")
    os.utime(glossary, (time.time() + 2,) * 2)
    ran, text = make_run()
    assert ran and re.search(r"\bMi\b", text) and "Xiaomi" not in text
