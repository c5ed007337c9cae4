import codecs
import os

import pytest

from pipeline.errors import ZhenError
from pipeline.textio import atomic_write, decode, read_document

SIMPLIFIED = "专访小米生态链韩乾源：我们每个品类可能会选择两到三款好产品。\n第二段。\n"
TRADITIONAL = "他說：「這是一個測試。」臺灣的繁體中文文本，這裡有一些常用字。\n"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (SIMPLIFIED.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8-sig"),
        (SIMPLIFIED.encode("utf-16"), "utf-16"),  # with BOM
        (codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), "utf-16"),
        (SIMPLIFIED.encode("utf-32"), "utf-32"),
        (SIMPLIFIED.encode("gb18030"), "gb18030"),
        (SIMPLIFIED.encode("gbk"), "gb18030"),
        (TRADITIONAL.encode("big5"), "big5"),
    ],
)
def test_detects_common_chinese_encodings(data, encoding):
    text, used = decode(data)
    assert used == encoding
    assert text == (TRADITIONAL if encoding == "big5" else SIMPLIFIED)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [SIMPLIFIED, TRADITIONAL, "Chapter 1. 第一章\nHello world, this is mostly ASCII.\n"])
def test_utf16_without_bom(codec, text):
    assert decode(text.encode(codec)) == (text, codec)


def test_a_bom_is_not_text_even_with_an_explicit_encoding():
    assert decode(codecs.BOM_UTF8 + "你好".encode(), "utf-8") == ("你好", "utf-8")


def test_short_gbk_headline_is_not_mistaken_for_another_encoding():
    # charset detectors take this for UTF-16 or Big5.
    assert decode("专访小米生态链韩乾源".encode("gbk"))[0] == "专访小米生态链韩乾源"


def test_explicit_encoding_is_strict():
    assert decode(TRADITIONAL.encode("big5"), "big5")[0] == TRADITIONAL
    with pytest.raises(ZhenError, match=r"not valid utf-8: byte 0x[0-9a-f]{2} at offset \d+"):
        decode(SIMPLIFIED.encode("gbk"), "utf-8")
    with pytest.raises(ZhenError, match="unknown encoding"):
        decode(b"abc", "no-such-codec")


def test_binary_and_undecodable_input_is_an_error_not_mojibake():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4
    with pytest.raises(ZhenError, match="binary"):
        decode(png)
    with pytest.raises(ZhenError, match=r"not UTF-8 \(byte 0xe9 at offset 3\), UTF-16, GB18030 or Big5.*--encoding"):
        decode("café olé!".encode("latin-1"))  # odd length: not even UTF-16
    with pytest.raises(ZhenError, match=r"cannot tell the encoding.*--encoding"):
        decode("café olé".encode("latin-1"))  # decodes as UTF-16, but to nonsense


def test_line_ends_and_control_characters_are_normalised():
    text, _ = decode(f"一\r\n二\r三\n{SIMPLIFIED}四\x00五\x07\u2028六".encode())
    assert text == f"一\n二\n三\n{SIMPLIFIED}四五\n六"


def test_empty_input():
    assert decode(b"") == ("", "utf-8")


def test_read_document_names_outputs_after_the_last_extension(tmp_path):
    path = tmp_path / "interview.zh.txt"
    path.write_bytes(SIMPLIFIED.encode("gbk"))
    document = read_document(path)
    assert (document.name, document.encoding, document.text) == ("interview.zh", "gb18030", SIMPLIFIED)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ZhenError, match=r"cannot read .*No such file"):
        read_document(tmp_path / "nope.txt")


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "out.po"
    atomic_write(path, b"old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.po"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.po"
    path.write_bytes(b"reviewed work")

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ZhenError, match=r"cannot write .*out\.po: No space left on device"):
        atomic_write(path, b"half")
    assert path.read_bytes() == b"reviewed work"
    assert os.listdir(tmp_path) == ["out.po"]  # no temporary file left behind
