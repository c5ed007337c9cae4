"""The translation memory store, and reading other tools' TMX files into it."""

from datetime import datetime, timezone

import pytest

from pipeline.data import Approval
from pipeline.memory import TranslationMemory, match_key
from pipeline.tmx import read_tmx

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def approval(target, when=MONDAY, origin="out/a.po", translator="Li Wei", source="第一句。"):
    return Approval(source, target, origin, when, translator)


def test_learns_and_finds_approved_translations(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    assert memory.learn([approval("The first.")]) == 1
    assert memory.learn([approval("The first.")]) == 0  # already known
    assert memory.lookup(["第一句。", "第二句。"]) == {"第一句。": approval("The first.")}
    assert len(memory) == 1


def test_matches_up_to_width_and_spacing_only():
    assert match_key("你好，世界！\u3000２０２６年") == match_key("你好,世界!  2026年")
    assert match_key("你好，世界。") != match_key("你好，世界！")
    # Compatibility forms that change what the sentence says stay apart.
    for a, b in [("面积10²米。", "面积102米。"), ("第①条", "第1条"), ("Ⅱ期", "II期"), ("㎡", "m2")]:
        assert match_key(a) != match_key(b)


def test_approving_again_what_the_memory_holds_changes_nothing(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    memory.learn([approval("Old.", MONDAY)])
    memory.learn([approval("Corrected.", TUESDAY, "out/b.po")])
    later = datetime(2026, 11, 25, tzinfo=timezone.utc)
    assert memory.learn([approval("Old.", later, "out/c.po")]) == 0  # a stale copy
    assert memory.lookup(["第一句。"])["第一句。"].target == "Corrected."
    assert memory.find("第一句。", "Old.") == approval("Old.", MONDAY)


def test_of_two_approvals_on_the_same_date_the_one_learned_last_wins(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    memory.learn([approval("We go.")])
    memory.learn([approval("Off we go.")])
    assert memory.lookup(["第一句。"])["第一句。"].target == "Off we go."
    assert [a.target for a in memory.approved()] == ["Off we go."]


def test_the_latest_approval_wins_and_earlier_ones_are_kept(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    memory.learn([approval("Newer.", TUESDAY, "out/b.po")])
    memory.learn([approval("Older.", MONDAY)])  # learned later, approved earlier
    assert memory.lookup(["第一句。"])["第一句。"].target == "Newer."
    assert [a.target for a in memory.approved()] == ["Newer."]
    assert memory.find("第一句。", "Older.") == approval("Older.", MONDAY)


def test_survives_reopening_and_a_failed_batch_adds_nothing(tmp_path):
    path = tmp_path / "tm.sqlite"
    TranslationMemory(path).learn([approval("The first.")])

    class Boom(Exception):
        pass

    def approvals():
        yield approval("The second.", source="第二句。")
        raise Boom

    with pytest.raises(Boom):
        TranslationMemory(path).learn(approvals())
    assert [a.source for a in TranslationMemory(path).approved()] == ["第一句。"]


def test_machine_drafts_are_told_from_edits(tmp_path):
    memory = TranslationMemory(tmp_path / "tm.sqlite")
    memory.remember_drafts([("第一句。", "MT one.")])
    assert memory.is_machine_draft("第一句。", "MT one.")
    assert not memory.is_machine_draft("第一句。", "My edit.")


def tmx(tmp_path, body, header='<header srclang="zh-CN" creationdate="20260101T000000Z"/>', encoding="utf-8"):
    path = tmp_path / "in.tmx"
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<tmx version="1.4">{header}<body>{body}</body></tmx>'
    path.write_bytes(text.encode(encoding))
    return path


def tu(zh="你好。", en="Hello.", zh_lang='xml:lang="zh-CN"', en_lang='xml:lang="en-US"', attrs="", props=""):
    return f"<tu {attrs}>{props}<tuv {zh_lang}><seg>{zh}</seg></tuv><tuv {en_lang}><seg>{en}</seg></tuv></tu>"


@pytest.mark.parametrize(
    "zh_lang",
    [
        'xml:lang="zh"',
        'xml:lang="zh-CN"',
        'xml:lang="zh-Hans"',
        'xml:lang="zh_CN"',
        'lang="ZH-CN"',
        'xml:lang="zh-Hans-CN"',
    ],
)
def test_every_spelling_of_chinese_and_the_old_lang_attribute(tmp_path, zh_lang):
    found = read_tmx(tmx(tmp_path, tu(zh_lang=zh_lang, en_lang='lang="EN"')))
    assert [(a.source, a.target) for a in found.units()] == [("你好。", "Hello.")]


def test_other_languages_drafts_and_empty_units_are_skipped_and_counted(tmp_path):
    body = "".join(
        [
            tu(),
            tu(zh_lang='xml:lang="ja"'),  # Japanese→English
            tu(en_lang='xml:lang="fr-FR"', en="Bonjour."),  # Chinese→French
            tu(zh="再见。", en="Bye.", props='<prop type="x-ConfirmationLevel">Draft</prop>'),
            tu(zh="谢谢。", en="MT.", props='<prop type="x-zhen-origin">machine-translation</prop>'),
            tu(zh="空。", en=""),
        ]
    )
    found = read_tmx(tmx(tmp_path, body))
    assert [a.source for a in found.units()] == ["你好。"]
    assert (found.other_languages, found.drafts, found.empty) == (2, 2, 1)


def test_dates_translators_and_inline_codes_read_as_their_markup(tmp_path):
    body = tu(
        zh='点击<bpt i="1">&lt;b&gt;</bpt>保存<ept i="1">&lt;/b&gt;</ept>。',
        en='Click <bpt i="1">&lt;b&gt;</bpt>Save<ept i="1">&lt;/b&gt;</ept>, <hi>now</hi><ph>&lt;br/&gt;</ph>.',
        attrs='changedate="20261124T090000Z" changeid="li.wei"',
    )
    [found] = read_tmx(tmx(tmp_path, body)).units()
    # Inline codes read back as the markup they hold, as zhen writes them; <hi> is text.
    assert (found.source, found.target) == ("点击<b>保存</b>。", "Click <b>Save</b>, now<br/>.")
    assert (found.approved, found.translator) == (TUESDAY, "li.wei")
    [undated] = read_tmx(tmx(tmp_path, tu())).units()
    assert undated.approved == datetime(2026, 1, 1, tzinfo=timezone.utc)  # the header's date


def test_utf16_tmx_as_trados_writes_it(tmp_path):
    path = tmx(tmp_path, tu(), encoding="utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert [a.source for a in read_tmx(path).units()] == ["你好。"]


def test_namespaced_tmx(tmp_path):
    path = tmp_path / "ns.tmx"
    path.write_text(
        f'<tmx xmlns="http://www.lisa.org/tmx14" version="1.4"><header/><body>{tu()}</body></tmx>', encoding="utf-8"
    )
    assert len(list(read_tmx(path).units())) == 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02binary",
        b'<?xml version="1.0"?><tmx version="1.4"><header/><body><tu><tuv xml:lang="zh"><seg>',  # truncated
        b'<?xml version="1.0"?><html><body>not a memory</body></html>',
        b'<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<tmx version="1.4"><header/><body><tu><tuv xml:lang="zh"><seg>&x;</seg></tuv>'
        b'<tuv xml:lang="en"><seg>x</seg></tuv></tu></body></tmx>',
    ],
)
def test_malformed_or_hostile_tmx_is_an_error(tmp_path, content):
    path = tmp_path / "bad.tmx"
    path.write_bytes(content)
    found = read_tmx(path)
    try:
        units = list(found.units())
    except ValueError:
        return
    # An external entity is never expanded: the unit is skipped and counted.
    assert units == [] and found.entities == 1


def test_a_unit_with_an_entity_reference_is_skipped_not_stored_with_a_hole(tmp_path):
    body = tu(zh="甲 &x; 乙。", en="A &x; B.") + tu()
    path = tmp_path / "entities.tmx"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY x "thing">]>'
        f'<tmx version="1.4"><header/><body>{body}</body></tmx>',
        encoding="utf-8",
    )
    found = read_tmx(path)
    assert [(a.source, a.target) for a in found.units()] == [("你好。", "Hello.")]
    assert (found.approved, found.entities) == (1, 1)
