import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE
from pipeline.segment import segment, segment_lines

EXPECTED_SAMPLE = SAMPLE.parent.parent / "tests" / "data" / "xiaomi-ecosystem-interview.sentences.txt"


def texts(text, lang="zh"):
    return [s.text for s in segment(text, lang)]


def test_sample_document_is_segmented_as_a_careful_reader_would():
    # The expected file was checked by hand: one sentence per line, an empty
    # line between paragraphs (the format `python -m pipeline segment` prints).
    expected = [p.split("\n") for p in EXPECTED_SAMPLE.read_text(encoding="utf-8").strip().split("\n\n")]
    sentences = segment(SAMPLE.read_text(encoding="utf-8"))
    paragraphs = {}
    for s in sentences:
        paragraphs.setdefault(s.paragraph, []).append(s.text)
    assert list(paragraphs.values()) == expected


def test_sample_quotation_with_several_sentences():
    text = "韩乾源表示 '我们其实很清楚哪些产品好, 哪些产品不好. 当选完好产品的时候, 我们不希望给用户太多繁杂的选择' . 从中我们了解到有对同类产品."
    assert texts(text) == [
        "韩乾源表示 '我们其实很清楚哪些产品好, 哪些产品不好.",
        "当选完好产品的时候, 我们不希望给用户太多繁杂的选择' .",
        "从中我们了解到有对同类产品.",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天下雨。我们不去了！你呢？好的", ["今天下雨。", "我们不去了！", "你呢？", "好的"]),
        ("他说：“我们走吧。”然后就走了。", ["他说：“我们走吧。”", "然后就走了。"]),
        ("“你好！”，他说。", ["“你好！”，他说。"]),
        ("她笑了。」他也笑了。", ["她笑了。」", "他也笑了。"]),
        ("他说. 然后我们走了.", ["他说.", "然后我们走了."]),
        ("真的吗? 是的!", ["真的吗?", "是的!"]),
        ("等等……他走了。", ["等等……", "他走了。"]),
        ("客服一条龙. ' 同时我们也在做.", ["客服一条龙. '", "同时我们也在做."]),
        ("他说. '我们走吧.' 然后走了.", ["他说.", "'我们走吧.'", "然后走了."]),
        ("他用的是iPhone.然后换了! 是吗?", ["他用的是iPhone.", "然后换了!", "是吗?"]),
        ("发布了v2.0. 价格是3.5. 访问example.com. 然后", ["发布了v2.0.", "价格是3.5.", "访问example.com.", "然后"]),
    ],
)
def test_chinese_sentence_ends(text, expected):
    assert texts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "圆周率约为3.14，不是3.",
        "圆周率是３．１４左右。",
        "7月4日-7月5日, 零一科技在深圳举办了科技节",
        "会议在10:30开始，版本v2.1.3发布",
        "我们请到了Mr. Li和Dr. Wang",
        "U.S. 政府今天宣布了新政策",
        "演讲之后我们iMoblie 手机之家非常有幸",
        "详见https://example.com/a.b?c=1或邮件zhen@example.org联系",
        "有品: 精选生活电商",
        "他说，我们走；你呢、他呢：都走",
    ],
)
def test_chinese_non_boundaries(text):
    assert texts(text) == [text]


def test_numbered_list_item_is_not_split_after_its_number():
    assert texts("1. 首先准备材料\n2. 然后开始") == ["1. 首先准备材料", "2. 然后开始"]


def test_english_sentence_inside_chinese():
    assert texts("他用的是iPhone. 然后他换了手机.") == ["他用的是iPhone.", "然后他换了手机."]


def test_headings_and_lines_are_paragraphs():
    sentences = segment("标题\n\n第一段。第二句。\r\n\u3000\u3000缩进的段落。\n")
    assert [(s.text, s.paragraph, s.line) for s in sentences] == [
        ("标题", 0, 1),
        ("第一段。", 1, 3),
        ("第二句。", 1, 3),
        ("缩进的段落。", 2, 4),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Mr. Smith went to Washington. He arrived at 3 p.m. on Monday.",
         ["Mr. Smith went to Washington.", "He arrived at 3 p.m. on Monday."]),
        ("J. R. R. Tolkien wrote it. It is long.", ["J. R. R. Tolkien wrote it.", "It is long."]),
        ("He lived in the U.S. for years, e.g. in Ohio. Then he left.",
         ["He lived in the U.S. for years, e.g. in Ohio.", "Then he left."]),
        ('"Stop!" he cried. "Why?" she asked.', ['"Stop!" he cried.', '"Why?" she asked.']),
        ("'I know.' She smiled. Wait... What now?", ["'I know.'", "She smiled.", "Wait...", "What now?"]),
        ("It costs 3.50 dollars. That is cheap.", ["It costs 3.50 dollars.", "That is cheap."]),
        ("He said no. Then he left.", ["He said no.", "Then he left."]),
        ("See No. 5 and p. 12 in Ch. 3. It is fine.", ["See No. 5 and p. 12 in Ch. 3.", "It is fine."]),
        ("Apples, pears, etc. Then he left.", ["Apples, pears, etc.", "Then he left."]),
        ("She works at Acme Inc. and Dr. Who Ltd. now.", ["She works at Acme Inc. and Dr. Who Ltd. now."]),
    ],
)
def test_english(text, expected):
    assert texts(text, "en") == expected


def test_spans_point_into_the_text():
    text = SAMPLE.read_text(encoding="utf-8")
    lines = text.split("\n")
    for s in segment(text):
        assert text[s.start : s.end] == s.text
        assert s.text in lines[s.line - 1]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("我们他说。！？.!?…,，'\"”“」） \n\u3000aZ3.:")) | st.characters(), max_size=200))
def test_segmentation_is_lossless(text):
    sentences = segment(text)
    position = 0
    for s in sentences:
        assert s.text == text[s.start : s.end]
        assert s.text and s.text == s.text.strip() and "\n" not in s.text
        assert not text[position : s.start].strip()  # only whitespace lies between
        position = s.end
    assert not text[position:].strip()


def test_presegmented_lines():
    sentences = segment_lines("一句。\n\n  两句。 \n")
    assert [(s.text, s.line, s.start) for s in sentences] == [("一句。", 1, 0), ("两句。", 3, 7)]


def test_unknown_language():
    with pytest.raises(ValueError):
        segment("x", "fr")
