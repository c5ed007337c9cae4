"""Placeholders and markup through the model: whatever it writes, the
translation holds exactly the source's codes."""

from collections import Counter

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.formats import translated_name
from pipeline.protect import codes_of, mask, restore

CODES = [
    "%s",
    "%1$d",
    "%(name)s",
    "{0}",
    "{name}",
    "{0:N2}",
    "{{count}}",
    "${user}",
    "<b>",
    "</b>",
    "<br/>",
    "&amp;",
    "`code`",
    "[1]",
    '<a href="x.html">',
    "</a>",
    "#",
]
WORDS = ["你好", "文件", "，", "。", " ", "保存", "小米"]


@settings(max_examples=300, deadline=None)
@given(
    source=st.lists(st.sampled_from(CODES + WORDS), min_size=1, max_size=12),
    output=st.lists(
        st.one_of(
            st.sampled_from(["Save", "file", " ", ".", "[1]", "[2]", "[3]", "[9]", "［2］"]), st.sampled_from(CODES)
        ),
        max_size=12,
    ),
)
def test_the_translation_holds_exactly_the_source_codes(source, output):
    sentence = "".join(source)
    assume("``" not in sentence)  # `a``b` is one code span in Markdown, not two
    masked = mask(sentence)
    if not masked.text:  # codes only: nothing goes to the model
        assert masked.lead == sentence
        return
    restored, _ = restore("".join(output), masked)
    assert Counter(codes_of(restored)) == Counter(codes_of(sentence)), (sentence, restored)


def test_codes_the_model_drops_are_put_back_and_said():
    masked = mask("点击<b>保存</b>按钮，共 %d 个。")
    assert masked.text == "点击[1]保存[2]按钮，共 [3] 个。"
    assert restore("Click [1] save [2] button, [3] in all.", masked) == ("Click <b>save</b> button, %d in all.", ())
    restored, repaired = restore("Click save button.", masked)
    assert restored == "<b>Click save button</b> %d." and set(repaired) == {"<b>", "</b>", "%d"}


def test_codes_at_the_edges_never_reach_the_model():
    masked = mask("<p>  你好。</p>")
    assert (masked.lead, masked.text, masked.trail) == ("<p>  ", "你好。", "</p>")


def test_what_is_a_code_and_what_is_text():
    assert codes_of("增长了50%，%d 个，100%% 完成") == ["%d", "%%"]
    assert codes_of("{count, plural, one {# 个} other {# 个}}文件") == ["{count, plural, one {# 个} other {# 个}}"]
    assert codes_of('运行 <code>安装 设备</code> 与 <span translate="no">小米</span>') == [
        "<code>安装 设备</code>",
        '<span translate="no">小米</span>',
    ]
    assert codes_of('见[文档](https://x.com/a_(b) "题")和[常见问题][faq]') == [
        "[",
        '](https://x.com/a_(b) "题")',
        "[",
        "][faq]",
    ]


def test_the_translated_file_is_named_after_its_language():
    assert translated_name("README.zh-CN.md") == "README.en.md"
    assert translated_name("zh-CN.json") == "en.json"
    assert translated_name("messages.zh.xlf") == "messages.en.xlf"
    assert translated_name("strings_zh_Hans.json") == "strings_en.json"
    assert translated_name("ZH-TW.json") == "en.json"
    assert translated_name("guide.md") == "guide.en.md"
    assert translated_name("zhengzhou.txt") == "zhengzhou.en.txt"  # not a language tag
