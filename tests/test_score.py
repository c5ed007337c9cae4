import pytest

from pipeline.data import Translation
from pipeline.score import group_units, pair_and_score, score
from pipeline.segment import segment

SOURCE = "小米生态链参谋部战略规划师韩乾源出席并做了专题演讲。"
GOOD = "Han Qianyuan, strategic planner of the Xiaomi ecosystem staff department, attended and gave a talk."


def test_a_plausible_translation_has_full_confidence():
    assert score(SOURCE, Translation(GOOD)) == (1.0, ())


@pytest.mark.parametrize(
    "source, translation, warning",
    [
        (SOURCE, Translation(""), "empty"),
        (SOURCE, Translation("Han."), "unusually short"),
        ("你好。", Translation("Hello, " + "and then the company said that it would " * 6), "unusually long"),
        (SOURCE, Translation("Han Qianyuan of 小米生态链参谋部 attended and gave a talk on strategy."), "untranslated"),
        ("加油，加油！", Translation("Come on, come on, come on, come on, come on, come on!"), "repeats itself"),
        (
            "我们讲究的是80%的钱花在找坐标上。",
            Translation("We focus on spending most of our money on finding coordinates."),
            "numbers missing: 80",
        ),
        (
            "演讲之后我们iMoblie手机之家非常有幸得到了采访的机会。",
            Translation("After the speech we at Mobile Home were lucky to get an interview."),
            "missing: iMoblie",
        ),
        ("已删除 %d 个文件，共 %s。", Translation("Deleted files, total %s."), "placeholders missing: %d"),
        ("你好，{name}！", Translation("Hello, name!"), "placeholders missing: {name}"),
        (SOURCE, Translation(GOOD, truncated=True), "length limit"),
        (SOURCE, Translation(GOOD, pieces=3), "3 pieces"),
    ],
)
def test_warning_signs_lower_confidence(source, translation, warning):
    confidence, warnings = score(source, translation)
    assert 0.0 <= confidence < 1.0
    assert any(warning in w for w in warnings), warnings


def test_signals_that_should_not_fire():
    # A month comes out as a word; repeated words in normal prose are fine.
    assert score("7月4日-7月5日举办。", Translation("It was held from July 4 to 5.")) == (1.0, ())
    text = "The company said that the plan was good, and the company said that it would act."
    assert score("公司说这个计划很好，公司说会行动起来。", Translation(text)) == (1.0, ())
    # Placeholders kept in any order; a literal percentage is not one.
    assert score("%(count)d 个文件在 {dir} 中。", Translation("In {dir}, %(count)d files.")) == (1.0, ())
    assert score("增长了5%。", Translation("It grew by 5%.")) == (1.0, ())
    # Small numbers may be spelled out.
    assert score("我们有3个孩子和10本书。", Translation("We have three children and ten books.")) == (1.0, ())


def test_amounts_ordinals_and_months_are_not_expected_verbatim():
    for source, target in [
        ("公司有5000万用户。", "The company has 50 million users."),
        ("收入达到1,000亿元。", "Revenue reached 100 billion yuan."),
        ("第3季度增长了。", "The third quarter grew."),
        ("会议在7月4日举行。", "The meeting was held on July 4."),
    ]:
        assert score(source, Translation(target))[1] == (), source


def test_numbers_are_compared_whole():
    assert score("他有1个问题。", Translation("He has 10 questions."))[1] == ("numbers missing: 1",)
    assert score("价格是1,000元。", Translation("The price is 1000 yuan."))[1] == ()


def test_blank_input_does_not_crash():
    assert score("   ", Translation("  ")) == (1.0, ())
    assert score("你好", Translation(" "))[0] == 0.0
    assert score(" ", Translation("Hello"))[0] == 0.0


def test_confidence_stays_in_range_when_everything_is_wrong():
    bad = Translation("的的的 the the the the the the the the 80", truncated=True, pieces=4)
    confidence, warnings = score("iPhone有100个版本吗？", bad)
    assert 0.0 <= confidence <= 0.1 and len(warnings) >= 3


def test_align_keeps_every_sentence_in_order():
    sentences = segment("第一句。第二句。第一句。")
    translations = [Translation(t) for t in ("One.", "Two.", "One.")]
    pairs = pair_and_score(sentences, translations)
    assert [(p.source.text, p.translation.text) for p in pairs] == [
        ("第一句。", "One."),
        ("第二句。", "Two."),
        ("第一句。", "One."),
    ]
    with pytest.raises(ValueError, match="3 sentences but 2 translations"):
        pair_and_score(sentences, translations[:2])


def test_group_units_merges_repeated_sentences_with_all_locations():
    sentences = segment("第一句。\n第二句。\n\n第一句。")
    pairs = pair_and_score(sentences, [Translation(t) for t in ("One.", "Two.", "One.")])
    units = group_units(pairs, "doc.txt")
    assert [(u.source, u.locations) for u in units] == [
        ("第一句。", (("doc.txt", 1), ("doc.txt", 4))),
        ("第二句。", (("doc.txt", 2),)),
    ]


def test_a_sentence_translated_differently_in_places_keeps_the_first_and_notes_the_rest():
    sentences = segment("好的。\n好的。\n好的。")
    pairs = pair_and_score(sentences, [Translation(t) for t in ("OK.", "Fine.", "OK.")])
    [unit] = group_units(pairs, "doc.txt")
    assert unit.target == "OK."
    assert unit.warnings[-1] == "elsewhere translated as: Fine."
