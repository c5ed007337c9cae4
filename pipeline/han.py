"""What zhen knows about Chinese text, in one place for every stage: which
characters are Chinese, its quotation marks, and how long its English is."""

import re

# CJK Unified Ideographs with Extension A, the compatibility ideographs, and
# the supplementary planes' Extensions B and later.
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
HAN = re.compile(f"[{HAN_RANGES}]")

# Chinese quotation marks whose nesting is unambiguous (’ doubles as an apostrophe).
QUOTE_OPENERS = "“「『"
QUOTE_CLOSERS = "”」』"

# English characters (spaces aside) per Chinese character. Machine
# translation is terser than a published translation, which explains and
# embellishes: measured on machine translations of Chinese literary text,
# and on the published translations of the same chapters.
MACHINE_CHARS_PER_HANZI = 3.3
PUBLISHED_CHARS_PER_HANZI = 3.7


def is_han(char: str) -> bool:
    """Is ``char`` a Chinese character (hanzi)?"""
    return HAN.fullmatch(char) is not None


def expected_english_length(source: str, chars_per_hanzi: float) -> float:
    """English characters (spaces aside) a translation of ``source`` usually
    has: so many per Chinese character, one for any other character."""
    han = len(HAN.findall(source))
    return chars_per_hanzi * han + len("".join(source.split())) - han
