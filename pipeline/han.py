"""What counts as a Chinese character, in one place for every stage."""

import re

# CJK Unified Ideographs with Extension A, the compatibility ideographs, and
# the supplementary planes' Extensions B and later.
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
HAN = re.compile(f"[{HAN_RANGES}]")


def is_han(char: str) -> bool:
    """Is ``char`` a Chinese character (hanzi)?"""
    return HAN.fullmatch(char) is not None
