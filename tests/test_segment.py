import pytest
from conftest import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

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
        ("半角句号｡然后呢?好!", ["半角句号｡", "然后呢?", "好!"]),
        ("他走了...然后呢…我不知道", ["他走了...", "然后呢…", "我不知道"]),
        # Traditional Chinese: corner quotes, nested quotations
        ("他說：「我們走吧。」然後就走了。", ["他說：「我們走吧。」", "然後就走了。"]),
        ("她說：「他說『好。』就走了。」我笑了。", ["她說：「他說『好。』", "就走了。」", "我笑了。"]),
        ("今天\u3000下雨了。\u3000明天呢？", ["今天\u3000下雨了。", "明天呢？"]),
        # A quotation of several sentences: opening quote with the first,
        # closing quote with the last.
        ("他说：“A是对的。B也对。C呢？”大家笑了。", ["他说：“A是对的。", "B也对。", "C呢？”", "大家笑了。"]),
        # An ellipsis inside an utterance is a pause, not an end ...
        ("“我叫…… 叫小玄子。”他说。", ["“我叫…… 叫小玄子。”", "他说。"]),
        ("“这个……这个……我记不起了。”", ["“这个……这个……我记不起了。”"]),
        # ... but it ends the utterance where the quotation closes, and
        # outside quotations it ends the sentence.
        ("“大哥哥们…… 饶了我吧……”奶奶说。", ["“大哥哥们…… 饶了我吧……”", "奶奶说。"]),
        # A dash right before a closing quote ends a broken-off utterance.
        ("“你为什么——”说到这里，她停了。", ["“你为什么——”", "说到这里，她停了。"]),
        ("大喇叭说：“咚——咚——”“猛捅——猛捅——”轿前有人笑。", ["大喇叭说：“咚——咚——”", "“猛捅——猛捅——”", "轿前有人笑。"]),
        # A sentence never starts with final marks: they stay with the one before.
        ("他走了。……三天后，他回来了。", ["他走了。……", "三天后，他回来了。"]),
        ("“真是传奇。” ……他们又谈了一会儿。", ["“真是传奇。” ……", "他们又谈了一会儿。"]),
        ("“好的。——”他说。", ["“好的。——”", "他说。"]),
        ("他说‘走吧。’然后走了。", ["他说‘走吧。’", "然后走了。"]),
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
        "他说：“我们走吧。”，然后笑了",
        "他们说——这是当时的规矩——不能停",
        "“好”“坏”“对”“错”都是形容词",
        '输入 "--" 表示结束。',
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
        (
            "Mr. Smith went to Washington. He arrived at 3 p.m. on Monday.",
            ["Mr. Smith went to Washington.", "He arrived at 3 p.m. on Monday."],
        ),
        ("J. R. R. Tolkien wrote it. It is long.", ["J. R. R. Tolkien wrote it.", "It is long."]),
        (
            "He lived in the U.S. for years, e.g. in Ohio. Then he left.",
            ["He lived in the U.S. for years, e.g. in Ohio.", "Then he left."],
        ),
        ('"Stop!" he cried. "Why?" she asked.', ['"Stop!" he cried.', '"Why?" she asked.']),
        ("'I know.' She smiled. Wait... What now?", ["'I know.'", "She smiled.", "Wait...", "What now?"]),
        ("It costs 3.50 dollars. That is cheap.", ["It costs 3.50 dollars.", "That is cheap."]),
        ("He said no. Then he left.", ["He said no.", "Then he left."]),
        ("See No. 5 and p. 12 in Ch. 3. It is fine.", ["See No. 5 and p. 12 in Ch. 3.", "It is fine."]),
        ("Apples, pears, etc. Then he left.", ["Apples, pears, etc.", "Then he left."]),
        ("She works at Acme Inc. and Dr. Who Ltd. now.", ["She works at Acme Inc. and Dr. Who Ltd. now."]),
        (
            "Acme Inc. It grew. The U.S. Army came. I live in the U.S. It is big.",
            ["Acme Inc.", "It grew.", "The U.S. Army came.", "I live in the U.S.", "It is big."],
        ),
        ("At 5 a.m. Mr. Smith left. Use e.g. The Hobbit.", ["At 5 a.m. Mr. Smith left.", "Use e.g. The Hobbit."]),
        # possessives and contractions are not initials; "I." usually is the pronoun
        (
            "It was his wife's. He didn't. So was I. Mr. I. Smith came.",
            ["It was his wife's.", "He didn't.", "So was I.", "Mr. I. Smith came."],
        ),
        # dialogue in double and single quotes, several sentences in one quotation
        (
            'She said, "It is late. We should go." They went.',
            ['She said, "It is late.', 'We should go."', "They went."],
        ),
        ("'Go away,' she said. 'I mean it.' He left.", ["'Go away,' she said.", "'I mean it.'", "He left."]),
        ('"Can you print it?" Wang asked. Sha nodded.', ['"Can you print it?" Wang asked.', "Sha nodded."]),
        ('"Is that right?" Trinket said nothing.', ['"Is that right?"', "Trinket said nothing."]),
        ('"Help!" Mr. Li shouted. He ran.', ['"Help!" Mr. Li shouted.', "He ran."]),
        ("In the 1990s—’90s? No. Fine.", ["In the 1990s—’90s?", "No.", "Fine."]),
        (
            'He said "No." Then he left. It was 1 A.M." "Wow."',
            ['He said "No."', "Then he left.", 'It was 1 A.M."', '"Wow."'],
        ),
        # a broken-off utterance, then the next speaker
        (
            "'But I—' 'You what?' snapped Hai. 'Too-tah –' 'Poo-pah –'",
            ["'But I—'", "'You what?' snapped Hai.", "'Too-tah –'", "'Poo-pah –'"],
        ),
        (
            "He paid $3.50 for 1,000.5 grams at 10:30. See www.example.com. Mail a@b.org now.",
            ["He paid $3.50 for 1,000.5 grams at 10:30.", "See www.example.com.", "Mail a@b.org now."],
        ),
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


PUNCTUATION_HEAVY = st.sampled_from(list("我们他说。！？.!?…,，'\"”“「」『』）—– \n\u3000aZIe3.:-"))


@pytest.mark.parametrize("lang", ["zh", "en"])
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=PUNCTUATION_HEAVY | st.characters(), max_size=200))
def test_segmentation_is_lossless(lang, text):
    sentences = segment(text, lang)
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
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        segment("x", "fr")
