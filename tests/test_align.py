"""The sentence aligner: bead shapes, edge cases, invariants and the align command."""

import random
import subprocess

import polib
import pytest
from conftest import TMX_DTD, require_tool, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline.align import MAX_SIDE, align_sentences
from pipeline.data import Bead
from pipeline.encoder import SentenceEncoder
from pipeline.run_align import REVIEW_BELOW
from pipeline.vecalign import parse_beads

# A short story written for these tests, its published-style English
# translation (sentences merged and split as translators do), and a literal
# machine translation of each Chinese sentence as the bridge.
SOURCE = [
    "今天早上，老王骑自行车去了北京火车站。",  # 0 ┐ 2-1
    "他买了一张去上海的票。",  # 1 ┘
    "火车晚点了两个小时。",  # 2   1-1
    "他给妻子打了电话，告诉她自己会晚到，又说明天一定回家吃饭，还让她别担心。",  # 3   1-4
    "妻子笑了。",  # 4 ┐ 2-1
    "她说没关系。",  # 5 ┘
    "车站里人很多，有学生，有工人，也有带着孩子的母亲。",  # 6   1-2
    "广播里一遍又一遍地播放着通知，说因为暴雨的原因，所有开往南方的列车都要推迟出发，请旅客们耐心等候，不要离开候车大厅。",  # 7   1-0
    "下午三点，火车终于开了。",  # 8   1-1
    "老王在车上睡着了。",  # 9   1-1, then 0-1
]
BRIDGE = [
    "This morning, Lao Wang rode his bicycle to Beijing railway station.",
    "He bought a ticket to Shanghai.",
    "The train was two hours late.",
    "He called his wife, told her he would arrive late, said he would certainly come home for dinner tomorrow, and told her not to worry.",
    "His wife laughed.",
    "She said it did not matter.",
    "There were many people in the station: students, workers, and mothers with children.",
    "The broadcast played the notice again and again, saying that because of the rainstorm all trains to the south would be delayed, asking passengers to wait patiently and not leave the waiting hall.",
    "At three in the afternoon, the train finally left.",
    "Lao Wang fell asleep on the train.",
]
TARGET = [
    "This morning Lao Wang cycled to Beijing railway station and bought a ticket to Shanghai.",
    "The train was two hours late.",
    "He phoned his wife.",
    "He would be late, he told her.",
    "But he would certainly be home for dinner tomorrow.",
    "She was not to worry.",
    "His wife laughed and said it did not matter.",
    "The station was crowded.",
    "There were students, workers and mothers with their children.",
    "At three in the afternoon the train finally left.",
    "Lao Wang fell asleep on the train.",
    "Translator's note: Lao, old, is a friendly way to address an older man.",
]
EXPECTED = [
    Bead((0, 1), (0,)),
    Bead((2,), (1,)),
    Bead((3,), (2, 3, 4, 5)),
    Bead((4, 5), (6,)),
    Bead((6,), (7, 8)),
    Bead((7,), ()),
    Bead((8,), (9,)),
    Bead((9,), (10,)),
    Bead((), (11,)),
]


def shapes(beads):
    return [(b.source, b.target) for b in beads]


def test_aligns_every_bead_shape_of_a_translated_story():
    beads = align_sentences(SOURCE, TARGET, BRIDGE)
    assert shapes(beads) == shapes(EXPECTED)
    assert all(b.confidence >= REVIEW_BELOW for b in beads if b.source and b.target)


def test_two_to_two_bead_when_the_translator_swaps_sentences():
    source = ["他打开窗户，看见外面的雪。", "孩子们在院子里堆雪人。", "第二天雪就化了。"]
    bridge = [
        "He opened the window and saw the snow outside.",
        "The children were building a snowman in the yard.",
        "The next day the snow melted.",
    ]
    target = [
        "In the yard the children were building a snowman.",
        "He watched them from the open window.",
        "The next day the snow melted.",
    ]
    assert shapes(align_sentences(source, target, bridge)) == [((0, 1), (0, 1)), ((2,), (2,))]


def test_three_to_one_bead():
    source = ["他推开门。", "屋里很暗。", "桌上放着一封信。", "信是他母亲写的。"]
    bridge = [
        "He pushed the door open.",
        "The room was dark.",
        "There was a letter on the table.",
        "The letter was written by his mother.",
    ]
    target = ["He pushed open the door of the dark room and saw a letter on the table.", "His mother had written it."]
    assert shapes(align_sentences(source, target, bridge)) == [((0, 1, 2), (0,)), ((3,), (1,))]


def test_without_a_bridge_numbers_and_names_still_align():
    # Lengths alone would pair these wrongly: the translations of 2 and 5 are much longer.
    source = [f"第{k}条：本年度预算为{k * 137}万元，由Acme{k}公司承担。" for k in range(1, 9)]
    target = [f"Article {k}: the budget is {k * 137}0,000 yuan, paid by Acme{k}." for k in range(1, 9)]
    for k in (1, 4):
        target[k] = target[k][:-1] + ", as the board decided at its annual meeting after a long debate about costs."
    beads = align_sentences(source, target)
    assert shapes(beads) == [((k,), (k,)) for k in range(8)]


@pytest.mark.parametrize(
    "source, target, expected",
    [
        ([], [], []),
        (["一。"], [], [Bead((0,), ())]),
        ([], ["One.", "Two."], [Bead((), (0,)), Bead((), (1,))]),
    ],
)
def test_empty_and_one_sided_documents(source, target, expected):
    assert shapes(align_sentences(source, target, source and ["One."])) == shapes(expected)


def _guest_book(count):
    """A register of guests with made-up names: each sentence shares its
    name, town and number with its translation, and little else."""
    rng = random.Random(7)

    def name():
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)).capitalize()

    guests = [(k, name(), name()) for k in range(count)]
    source = [f"第{k}位客人{who}从{town}来，带了{k * 7 + 3}本书。" for k, who, town in guests]
    bridge = [f"Guest {k}, {who}, came from {town} with {k * 7 + 3} books." for k, who, town in guests]
    target = [f"{who} of {town} brought {k * 7 + 3} books." for k, who, town in guests]
    return source, bridge, target


@pytest.mark.parametrize("short_side", ["target", "source"])
def test_hugely_unequal_lengths_find_the_translated_part(short_side):
    """An excerpt aligned with the whole: the rest is a run of sentences with
    no counterpart, not spread over merged beads (an edge bead may take in
    one neighbour)."""
    source, bridge, target = _guest_book(300)
    part = list(range(140, 150))
    if short_side == "target":
        beads = align_sentences(source, [target[k] for k in part], bridge)
        pairs = [(b.target, b.source) for b in beads if b.target]
    else:
        beads = align_sentences([source[k] for k in part], target, [bridge[k] for k in part])
        pairs = [(b.source, b.target) for b in beads if b.source]
    assert [short for short, _ in pairs] == [(n,) for n in range(10)]
    assert all(k in long for k, (_, long) in zip(part, pairs, strict=True))
    assert sum(len(long) for _, long in pairs) <= len(part) + 2
    assert len(pairs[len(pairs) // 2][1]) == 1


def test_hugely_unequal_lengths_lose_nothing():
    source, bridge, target = _guest_book(300)
    beads = align_sentences(source, target[:7], bridge)
    assert [i for b in beads for i in b.source] == list(range(300))
    assert [j for b in beads for j in b.target] == list(range(7))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(
            st.sampled_from(
                "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感见明问力理尔点文几定本公特做外孩相西果走将月十实向声车全信重三机工物气每并别真打太新比才便夫再书部水像眼等体却加电主界门利海受听表德少克代员许稜先口由死安写性马光白或住难望教命花结乐色，。！？“”ab1 "
            ),
            max_size=40,
        ),
        max_size=25,
    ),
    st.lists(st.text(st.sampled_from("abcdefghij klmnop.,!?'\"0123"), max_size=60), max_size=25),
)
def test_every_sentence_in_exactly_one_bead_in_order(source, target):
    beads = align_sentences(source, target, [s[::-1] for s in source])
    assert [i for b in beads for i in b.source] == list(range(len(source)))
    assert [j for b in beads for j in b.target] == list(range(len(target)))
    assert all(b.source or b.target for b in beads)
    assert all(len(b.source) <= MAX_SIDE and len(b.target) <= MAX_SIDE for b in beads)
    assert all(0.0 <= b.confidence <= 1.0 for b in beads)


# The story, ending with a doctor and a child whose translation shares no
# word with the bridge (the tiny test encoder knows the synonyms:
# conftest.SYNONYMS); only their meaning says that the doctor was tired.
PARAPHRASED = (
    [*SOURCE[:-1], "医生来了，很累。", "我们的小孩子睡得很香。"],
    [*TARGET[:-2], "Doctor came.", "Tired.", "Kid asleep."],
    [*BRIDGE[:-1], "Physician arrived, weary.", "Our little child slept soundly."],
)
PARAPHRASED_END = [((9,), (10, 11)), ((10,), (12,))]


def test_the_sentence_encoder_finds_what_words_and_lengths_miss(tiny_sentence_encoder):
    encoder = SentenceEncoder(str(tiny_sentence_encoder))
    assert shapes(align_sentences(*PARAPHRASED, encoder=encoder))[-2:] == PARAPHRASED_END
    assert shapes(align_sentences(*PARAPHRASED))[-2:] != PARAPHRASED_END


def test_the_encoder_needs_a_bridge(tiny_sentence_encoder):
    source, target, _ = PARAPHRASED
    encoder = SentenceEncoder(str(tiny_sentence_encoder))
    assert align_sentences(source, target, encoder=encoder) == align_sentences(source, target)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.text(st.sampled_from("的一是了我不人在他，。！“”ab1 "), max_size=30), max_size=15),
    st.lists(st.text(st.sampled_from("doctor came kid asleep tired.,!'\" 0123"), max_size=60), max_size=15),
)
def test_with_the_encoder_every_sentence_is_in_exactly_one_bead(tiny_sentence_encoder, source, target):
    encoder = SentenceEncoder(str(tiny_sentence_encoder))
    beads = align_sentences(source, target, [s[::-1] for s in source], encoder=encoder)
    assert [i for b in beads for i in b.source] == list(range(len(source)))
    assert [j for b in beads for j in b.target] == list(range(len(target)))
    assert all(0.0 <= b.confidence <= 1.0 for b in beads)


def test_a_match_too_weak_to_anchor_is_no_anchor():
    # The only shared word gives a cosine under the anchor threshold.
    assert shapes(align_sentences(["a"], ["0a0b"], ["a"])) == [((0,), (0,))]


def test_translation_count_must_match():
    with pytest.raises(ValueError, match="2 source sentences but 1 translations"):
        align_sentences(["一。", "二。"], ["One."], ["One."])


# ------------------------------------------------------------ the command


@pytest.fixture
def story(tmp_path):
    paths = {}
    for name, lines in (("zh.txt", SOURCE), ("en.txt", TARGET), ("mt.txt", BRIDGE)):
        paths[name] = tmp_path / name
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def align(story, out, *options):
    result = run_cli(
        "align", story["zh.txt"], story["en.txt"], "--presegmented", "--source-mt", story["mt.txt"], "-o", out, *options
    )
    assert result.returncode == 0, result.stderr.decode()
    return out


def test_vecalign_output_is_the_beads(story, tmp_path):
    out = align(story, tmp_path / "story.align")
    text = out.read_text()
    assert text.splitlines()[:3] == ["[0,1]:[0]", "[2]:[1]", "[3]:[2,3,4,5]"]
    assert "[7]:[]" in text and text.endswith("[]:[11]\n")
    assert shapes(parse_beads(text)) == shapes(EXPECTED)


def test_tmx_output_validates_and_joins_the_sentences_of_a_bead(story, tmp_path):
    out = align(story, tmp_path / "story.tmx")
    tree = etree.parse(str(out))
    assert etree.DTD(str(TMX_DTD)).validate(tree)
    units = [[seg.text for seg in tu.iterfind("tuv/seg")] for tu in tree.iterfind("body/tu")]
    assert units[0] == [SOURCE[0] + SOURCE[1], TARGET[0]]
    assert units[2] == [SOURCE[3], " ".join(TARGET[2:6])]
    assert len(units) == 7  # the untranslated sentence and the translator's note have no unit
    assert all(0 < float(c) <= 1 for c in tree.xpath("//prop[@type='x-zhen-confidence']/text()"))
    assert set(tree.xpath("//prop[@type='x-zhen-origin']/text()")) == {"alignment"}


def test_po_output_passes_msgfmt_and_marks_only_doubtful_pairs_fuzzy(story, tmp_path):
    out = align(story, tmp_path / "story.po")
    subprocess.run([require_tool("msgfmt"), "--check", "-o", "/dev/null", str(out)], check=True)
    entries = {e.msgid: e for e in polib.pofile(str(out))}
    assert entries[SOURCE[2]].msgstr == TARGET[1] and not entries[SOURCE[2]].fuzzy
    assert "alignment confidence" in entries[SOURCE[2]].comment
    untranslated = entries[SOURCE[7]]
    assert untranslated.msgstr == "" and "no counterpart" in untranslated.comment


def test_po_marks_pairs_under_the_threshold_fuzzy(tmp_path):
    (tmp_path / "zh.txt").write_text("第一句话。\n完全不同的第二句话。\n", encoding="utf-8")
    (tmp_path / "en.txt").write_text(
        "Something unrelated.\nAnother thing entirely, of quite another length than expected.\n"
    )
    (tmp_path / "mt.txt").write_text("The first sentence.\nA completely different second sentence.\n")
    story = {"zh.txt": tmp_path / "zh.txt", "en.txt": tmp_path / "en.txt", "mt.txt": tmp_path / "mt.txt"}
    entries = list(polib.pofile(str(align(story, tmp_path / "out.po"))))
    assert entries and all(e.fuzzy for e in entries if e.msgstr)
    assert all("uncertain alignment" in e.comment for e in entries if e.msgstr)


def test_tsv_is_printed_without_output_file(story):
    result = run_cli("align", story["zh.txt"], story["en.txt"], "--presegmented", "--source-mt", story["mt.txt"])
    rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
    assert rows[1][1:] == [SOURCE[2], TARGET[1]]


def test_source_is_translated_with_the_model_when_no_bridge_is_given(story, tiny_model, tmp_path):
    out = tmp_path / "story.align"
    result = run_cli("align", story["zh.txt"], story["en.txt"], "--presegmented", "--model", tiny_model, "-o", out)
    assert result.returncode == 0, result.stderr.decode()
    beads = parse_beads(out.read_text())
    assert [i for b in beads for i in b.source] == list(range(len(SOURCE)))
    assert [j for b in beads for j in b.target] == list(range(len(TARGET)))


def test_bridge_with_wrong_line_count_is_a_one_line_error(story, tmp_path):
    story["mt.txt"].write_text("Only one line.\n", encoding="utf-8")
    result = run_cli(
        "align", story["zh.txt"], story["en.txt"], "--source-mt", story["mt.txt"], "-o", tmp_path / "a.align"
    )
    assert result.returncode == 1
    assert b"has 1 lines but" in result.stderr and b"Traceback" not in result.stderr
    assert not (tmp_path / "a.align").exists()


def test_align_command_uses_the_similarity_model_and_goes_on_without_it(tmp_path):
    story = {}
    for name, lines in zip(("zh.txt", "en.txt", "mt.txt"), PARAPHRASED, strict=True):
        story[name] = tmp_path / name
        story[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    by_default = align(story, tmp_path / "default.align")  # $ZHEN_SIMILARITY_MODEL: the tiny encoder
    assert shapes(parse_beads(by_default.read_text()))[-2:] == PARAPHRASED_END
    without = align(story, tmp_path / "without.align", "--no-similarity-model")
    assert shapes(parse_beads(without.read_text()))[-2:] != PARAPHRASED_END
    result = run_cli(
        *("align", story["zh.txt"], story["en.txt"], "--presegmented", "--source-mt", story["mt.txt"]),
        *("--similarity-model", tmp_path / "absent", "-o", tmp_path / "missing.align"),
    )
    assert result.returncode == 0
    warning = result.stderr.decode()
    assert warning.count("\n") == 1 and "aligning without a similarity model" in warning and "absent" in warning
    assert (tmp_path / "missing.align").read_text() == without.read_text()


def test_running_text_is_segmented_before_aligning(story, tmp_path):
    story["zh.txt"].write_text("".join(SOURCE), encoding="utf-8")
    story["en.txt"].write_text(" ".join(TARGET), encoding="utf-8")
    story["mt.txt"].write_text("\n".join(BRIDGE), encoding="utf-8")
    result = run_cli(
        "align", story["zh.txt"], story["en.txt"], "--source-mt", story["mt.txt"], "-o", tmp_path / "a.align"
    )
    assert result.returncode == 0, result.stderr.decode()
    assert shapes(parse_beads((tmp_path / "a.align").read_text())) == shapes(EXPECTED)
