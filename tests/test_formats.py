"""Localization files in, the same files out translated: every format of
tests/data/formats run through `zhen run` with the tiny random model, whose
output is noise, which is exactly when protection must hold. Each result
is checked by a tool that is not zhen: json, msgfmt, xmllint with the
OASIS schemas, markdown-it-py, lxml.html."""

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import polib
import pytest
from conftest import TMX_DTD, check_outputs, require_tool, run_cli, run_make
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt

DATA = Path(__file__).parent / "data" / "formats"
SCHEMAS = Path(__file__).parent / "schemas" / "xliff"
HAN = re.compile(r"[\u3400-\u9fff]")
# Placeholders and markup, as this test sees them (independently of zhen's own patterns).
PLACEHOLDER = re.compile(
    r"%\d+\$[sd]|%\([a-z]+\)[sd]|%[sd]|\{\{\w+\}\}|\$\{\w+\}|\{\d+(?::\w+)?\}|\{\w+\}|</?[a-z]+[^<>]*>|&\w+;",
    re.ASCII,
)


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def translated(tiny_model, tmp_path_factory):
    """Every file of tests/data/formats through one `zhen run`, as a user runs it."""
    root = tmp_path_factory.mktemp("formats")
    shutil.copytree(DATA, root / "corpus")
    inputs = sorted((root / "corpus").iterdir())
    result = run_cli("run", *inputs, "--out", root / "out", "--model", tiny_model, cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    return root


def test_each_format_writes_its_translation_beside_the_tmx_and_po(translated):
    assert sorted(p.name for p in (translated / "out").iterdir()) == sorted(
        [
            "README.en.md",
            "README.zh-CN.po",
            "README.zh-CN.tmx",
            "app.zh.po",
            "app.zh.tmx",  # a catalog's translation is its review PO
            "index.en.html",
            "index.zh.po",
            "index.zh.tmx",
            "messages.en.json",
            "messages.zh-CN.po",
            "messages.zh-CN.tmx",
            "strings.en.xlf",
            "strings.zh.po",
            "strings.zh.tmx",
            "strings2.en.xlf",
            "strings2.zh.po",
            "strings2.zh.tmx",
        ]
    )
    check_outputs(translated / "out")  # TMX (inline codes included) DTD-valid, PO msgfmt-clean


# ---------------------------------------------------------------- JSON


def strings_blanked(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def test_json_keeps_keys_values_order_and_formatting(translated):
    source_text = (DATA / "messages.zh-CN.json").read_text(encoding="utf-8")
    output_text = (translated / "out" / "messages.en.json").read_text(encoding="utf-8")
    assert strings_blanked(output_text) == strings_blanked(source_text)  # indentation, order, numbers, final newline

    def compare(source, output, where="$"):
        assert type(source) is type(output), where
        if isinstance(source, dict):
            assert list(source) == list(output), where
            for key in source:
                compare(source[key], output[key], f"{where}.{key}")
        elif isinstance(source, list):
            assert len(source) == len(output), where
            for index, (a, b) in enumerate(zip(source, output, strict=True)):
                compare(a, b, f"{where}[{index}]")
        elif isinstance(source, str) and HAN.search(source):
            assert not HAN.search(output), (where, output)  # translated
            assert placeholders(output) == placeholders(source), (where, source, output)
        else:
            assert output == source, where  # numbers, booleans, null, English: untouched

    compare(json.loads(source_text), json.loads(output_text))


def test_json_icu_messages_are_translated_inside_their_syntax(translated):
    output = json.loads((translated / "out" / "messages.en.json").read_text(encoding="utf-8"))["icu"]
    assert re.fullmatch(
        r"\{count, plural, =0 \{[^{}]+\} one \{[^{}]*#[^{}]*\} other \{[^{}]*#[^{}]*\}\}.*", output["files"]
    )
    assert re.fullmatch(r"\{gender, select, male \{[^{}]+\} female \{[^{}]+\} other \{[^{}]+\}\}.*", output["gender"])
    assert "{price, number, currency}" in output["price"]
    assert not any(HAN.search(value) for value in output.values())


def test_the_review_loop_on_json_reaches_the_translated_file(translated, tiny_model):
    po_path = translated / "out" / "messages.zh-CN.po"
    po = polib.pofile(str(po_path))
    entry = po.find("小米商城")
    entry.msgstr, entry.flags = "Mi Store", []
    po.save()
    result = run_cli(
        "run",
        translated / "corpus" / "messages.zh-CN.json",
        "--out",
        translated / "out",
        "--model",
        tiny_model,
        cwd=translated,
    )
    assert result.returncode == 0, result.stderr.decode()
    output = json.loads((translated / "out" / "messages.en.json").read_text(encoding="utf-8"))
    assert output["app"]["title"] == "Mi Store"


# ---------------------------------------------------------------- gettext catalogs


def test_a_catalog_is_translated_in_place_and_passes_msgfmt_check_format(translated, tmp_path):
    msgfmt = require_tool("msgfmt")
    source = polib.pofile(str(DATA / "app.zh.po"))
    output = polib.pofile(str(translated / "out" / "app.zh.po"))
    assert output.metadata["Language"] == "en" and "nplurals=2" in output.metadata["Plural-Forms"]

    def identity(entry):
        return entry.msgctxt, entry.msgid, entry.msgid_plural, entry.obsolete

    assert [identity(e) for e in output] == [identity(e) for e in source]  # contexts, plurals, obsolete: all kept
    for before, after in zip(source, output, strict=True):
        assert after.occurrences == before.occurrences
        assert [f for f in after.flags if f != "fuzzy"] == [f for f in before.flags if f != "fuzzy"]
        assert after.comment.startswith(before.comment)  # the catalog's own #. first
        if after.obsolete or not HAN.search(after.msgid):
            continue
        if before.translated():  # a translator's work, kept as it came
            assert (after.msgstr, after.fuzzy) == (before.msgstr, False)
            continue
        assert after.fuzzy  # machine drafts
        if after.msgid_plural:
            assert set(after.msgstr_plural) == {0, 1} and all(after.msgstr_plural.values())  # both English forms
        else:
            assert after.msgstr and not HAN.search(after.msgstr)
    # msgfmt skips fuzzy entries: with the flags cleared it checks every format string.
    for entry in output:
        entry.flags = [f for f in entry.flags if f != "fuzzy"]
    approved = tmp_path / "approved.po"
    output.save(str(approved))
    result = subprocess.run(
        [msgfmt, "--check", "--check-format", "-o", os.devnull, str(approved)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- XLIFF


def xmllint_schema(path: Path, schema: str):
    xmllint = require_tool("xmllint")
    env = {**os.environ, "XML_CATALOG_FILES": str(SCHEMAS / "catalog.xml")}
    return subprocess.run(
        [xmllint, "--noout", "--nonet", "--schema", str(SCHEMAS / schema), str(path)],
        capture_output=True,
        text=True,
        env=env,
    )


def inline_elements(element) -> Counter:
    return Counter((etree.QName(e).localname, e.get("id")) for e in element.iterdescendants() if isinstance(e.tag, str))


@pytest.mark.parametrize(
    "name, schema, unit, namespace",
    [
        ("strings", "xliff-core-1.2-strict.xsd", "trans-unit", "urn:oasis:names:tc:xliff:document:1.2"),
        ("strings2", "xliff-core-2.0.xsd", "unit", "urn:oasis:names:tc:xliff:document:2.0"),
    ],
)
def test_xliff_validates_and_keeps_ids_notes_and_inline_elements(translated, name, schema, unit, namespace):
    path = translated / "out" / f"{name}.en.xlf"
    result = xmllint_schema(path, schema)
    assert result.returncode == 0, result.stderr
    ns = {"x": namespace}
    source_root, output_root = (etree.parse(str(p)).getroot() for p in (DATA / f"{name}.zh.xlf", path))
    assert [u.get("id") for u in output_root.iter(f"{{{namespace}}}{unit}")] == [
        u.get("id") for u in source_root.iter(f"{{{namespace}}}{unit}")
    ]
    assert [n.text for n in output_root.iterfind(".//x:note", ns)] == [
        n.text for n in source_root.iterfind(".//x:note", ns)
    ]
    targets = 0
    for source in output_root.iterfind(".//x:source", ns):
        target = source.getnext()
        skipped = any(a.get("translate") == "no" for a in source.iterancestors())
        if skipped or not HAN.search("".join(source.itertext())):
            assert (
                target is None
                or etree.QName(target).localname != "target"
                or source.getparent().get("id") == "existing"
            )
            continue
        assert etree.QName(target).localname == "target", source.getparent().get("id")
        assert inline_elements(target) == inline_elements(source)  # <g>, <x/>, <bpt>/<ept>, <pc>, <mrk>...
        state = target.get("state") if namespace.endswith("1.2") else source.getparent().get("state")
        assert state in ("needs-review-translation", "translated")
        targets += 1
    assert targets >= 3
    language = (
        output_root.find("x:file", ns).get("target-language")
        if namespace.endswith("1.2")
        else output_root.get("trgLang")
    )
    assert language == "en"


def test_xliff_keeps_protected_and_untranslatable_text(translated):
    output = (translated / "out" / "strings.en.xlf").read_text(encoding="utf-8")
    assert output.count('<mrk mtype="protected">小米</mrk>') == 2  # in source and target
    assert output.count("小米科技有限责任公司") == 1  # under translate="no": no target
    assert (
        "<target" in output
        and '<mrk id="m1" translate="no">小米账号</mrk>'
        in (translated / "out" / "strings2.en.xlf").read_text(encoding="utf-8").split("<target>", 1)[1]
    )


# ---------------------------------------------------------------- Markdown


def blocks(text: str) -> list[tuple]:
    """The block structure markdown-it-py sees, with what must not change:
    code, HTML, fences and their info strings, link and image targets."""
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "inline":
            children = token.children or []
            found.append(
                (
                    "inline",
                    [
                        (c.type, c.attrs.get("href") or c.attrs.get("src"))
                        for c in children
                        if c.type in ("link_open", "image")
                    ],
                    [c.content for c in children if c.type == "code_inline"],
                )
            )
        else:
            keep = token.content if token.type in ("fence", "code_block", "html_block") else None
            found.append((token.type, token.tag, token.nesting, token.markup, token.info, keep))
    return found


def test_markdown_keeps_its_blocks_code_links_and_front_matter(translated):
    source = (DATA / "README.zh-CN.md").read_text(encoding="utf-8")
    output = (translated / "out" / "README.en.md").read_text(encoding="utf-8")
    front = source.split("---\n", 2)[1]
    assert output.startswith(f"---\n{front}---\n")  # front matter byte for byte
    body = lambda text: text.split("---\n", 2)[2]  # noqa: E731
    assert blocks(body(output)) == blocks(body(source))
    assert "[faq]: https://dev.mi.com/faq" in output and '<div align="center">这段 HTML 保持原样。</div>' in output
    prose = [
        re.sub(r"\]\([^)]*\)", "]()", line)  # link targets and titles are kept as they are
        for line in body(output).splitlines()
        if not line.startswith(("    ", "<div", "npm"))
    ]
    assert not any(HAN.search(line) for line in prose)


# ---------------------------------------------------------------- HTML


def test_html_keeps_everything_but_the_text(translated):
    source_text = (DATA / "index.zh.html").read_text(encoding="utf-8")
    output_text = (translated / "out" / "index.en.html").read_text(encoding="utf-8")
    source, output = (lxml_html.document_fromstring(t) for t in (source_text, output_text))
    assert output.get("lang") == "en"
    for tag in ("script", "style", "pre", "code"):
        assert [etree.tostring(e, with_tail=False) for e in output.iter(tag)] == [
            etree.tostring(e, with_tail=False) for e in source.iter(tag)
        ]
    [kept] = output.xpath('//*[@translate="no"]')
    assert etree.tostring(kept, with_tail=False) == etree.tostring(
        source.xpath('//*[@translate="no"]')[0], with_tail=False
    )
    assert [e.tag for e in output.iter()] == [e.tag for e in source.iter()]  # the same elements, in order
    translatable = {"alt", "title", "placeholder", "aria-label"}
    for before, after in zip(source.iter(), output.iter(), strict=True):
        if not isinstance(before.tag, str):
            continue
        for name, value in before.attrib.items():
            if name in translatable and HAN.search(value):
                assert not HAN.search(after.get(name)), (name, after.get(name))
            elif name != "lang":
                assert after.get(name) == value, name
    assert "<!-- 注释里的中文不翻译 -->" in output_text and "&nbsp;&mdash;&nbsp;" in output_text
    assert output_text.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">')
    for untouched in output.body.xpath('.//pre | .//code | .//*[@translate="no"]'):
        untouched.drop_tree()  # its tail stays: that is text to translate
    assert not HAN.search(output.body.text_content()), output.body.text_content()


# ---------------------------------------------------------------- TMX inline codes


def test_placeholders_travel_through_tmx_as_inline_codes_and_back(translated, tmp_path, tiny_model):
    po_path = translated / "out" / "messages.zh-CN.po"
    po = polib.pofile(str(po_path))
    entry = po.find("购物车里有 %d 件商品，共 %s 元。")
    entry.msgstr, entry.flags = "There are %d items in the cart, %s yuan in all.", []
    po.save()
    memory = tmp_path / "tm.sqlite"
    assert run_cli("import-po", po_path, "--new-tm", memory).returncode == 0
    exported = tmp_path / "approved.tmx"
    assert run_cli("export-tm", "--tm", memory, "-o", exported).returncode == 0
    tree = etree.parse(str(exported))
    assert etree.DTD(str(TMX_DTD)).validate(tree)
    [tu] = [tu for tu in tree.iterfind("body/tu") if "%d" in "".join(tu.itertext())]
    assert [e.text for e in tu.iterfind("tuv[2]/seg/ph")] == ["%d", "%s"]  # inline codes, not text
    other = tmp_path / "other.sqlite"
    assert run_cli("import-tmx", exported, "--new-tm", other).returncode == 0
    from pipeline.memory import TranslationMemory

    found = TranslationMemory(other).lookup(["购物车里有 %d 件商品，共 %s 元。"])
    assert found["购物车里有 %d 件商品，共 %s 元。"].target == "There are %d items in the cart, %s yuan in all."


# ---------------------------------------------------------------- make


def test_make_picks_up_every_format_in_the_corpus(tiny_model, tmp_path):
    shutil.copytree(DATA, tmp_path / "corpus")
    (tmp_path / "corpus" / "notes.txt").write_text("第一句。第二句。\n", encoding="utf-8")
    (tmp_path / "corpus" / "picture.png").write_bytes(b"\x89PNG\r\n")  # not a document: left alone
    result = run_make(tmp_path, tiny_model, "ZHEN_OPTS=--no-tm")
    assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(re.findall(r" run \"corpus/([^\"]+)\"", result.stdout))
    assert built == sorted([p.name for p in DATA.iterdir()] + ["notes.txt"])
    out = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"README.en.md", "index.en.html", "messages.en.json", "strings.en.xlf", "notes.en.txt", "app.zh.po"} <= out
    again = run_make(tmp_path, tiny_model, "ZHEN_OPTS=--no-tm")
    assert " run " not in again.stdout  # nothing changed, nothing redone

    # Two documents that would write the same out/<name>.tmx: a clear error before anything runs.
    (tmp_path / "corpus" / "notes.md").write_text("# 标题\n", encoding="utf-8")
    clash = run_make(tmp_path, tiny_model, "ZHEN_OPTS=--no-tm")
    assert clash.returncode != 0 and "out/notes.tmx" in clash.stderr and " run " not in clash.stdout


# ---------------------------------------------------------------- hostile files


XXE = """<?xml version="1.0"?>
<!DOCTYPE xliff [<!ENTITY secret SYSTEM "file:///etc/passwd"><!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
<file source-language="zh-CN" datatype="plaintext" original="a"><body>
<trans-unit id="1"><source>你好&secret;&lol2;</source></trans-unit>
<trans-unit id="2"><source>再见。</source></trans-unit>
</body></file></xliff>
"""


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests its arrays or objects too deeply"),
        ("broken.json", '{"a": "你好", "b": [1, 2,', "is not valid JSON"),
        ("broken.xlf", "不是 XML", "is not well-formed XML"),
        ("broken.po", 'msgid "你好\nmsgstr', "cannot be read as a PO file"),
    ],
)
def test_a_broken_localization_file_is_a_one_line_error(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    result = run_cli("run", tmp_path / name, "--out", tmp_path / "out", "--model", tmp_path / "no-model")
    stderr = result.stderr.decode()
    assert result.returncode == 1 and message in stderr and stderr.count("\n") == 1, stderr
    assert not (tmp_path / "out").exists()


def test_entities_are_never_expanded_and_lone_surrogates_never_reach_the_model(tiny_model, tmp_path):
    (tmp_path / "x.xlf").write_text(XXE, encoding="utf-8")
    (tmp_path / "s.json").write_text('{"bad": "\\ud800 你好", "good": "谢谢"}', encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("run", tmp_path / "x.xlf", tmp_path / "s.json", "--out", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr.decode()
    xliff = (out / "x.en.xlf").read_text(encoding="utf-8")
    assert "root:" not in xliff and "lollol" not in xliff
    root = etree.fromstring(xliff.encode(), etree.XMLParser(resolve_entities=False))
    targets = {u.get("id"): u.find("{*}target") for u in root.iter("{*}trans-unit")}
    assert targets["1"] is None and targets["2"] is not None  # a unit with an entity is left alone
    written = json.loads((out / "s.en.json").read_text(encoding="utf-8"))
    assert written["bad"] == "\ud800 你好" and written["good"] != "谢谢"
