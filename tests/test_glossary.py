"""Dictionary glosses, the aligner's model-free bridge."""

from pipeline.align import align_sentences, stems
from pipeline.align.glosses import glosses


def test_every_sense_of_a_word_is_a_gloss():
    found = glosses("他笑了。", stems)
    assert {"laugh", "smile"} <= set(found)
    assert "he" in found  # 他


def test_longest_dictionary_word_wins():
    # 火车站 (railway station) is one word, not 火 (fire) + 车 (car) + 站 (stand).
    found = glosses("火车站", stems)
    assert "station" in found and "fire" not in found


def test_text_without_chinese_words_has_no_glosses():
    assert glosses("Hello, 123!", stems) == {}


def test_glosses_alone_align_merged_and_split_sentences_without_a_model():
    # Lengths alone pair 他打开门 with "Outside it was raining hard."
    source = ["老人笑了。", "他打开门。", "外面下着大雨，孩子们都睡着了，只有一只狗还在叫。", "天亮了。"]
    target = [
        "The old man smiled and opened the door.",
        "Outside it was raining hard.",
        "The children were all asleep.",
        "Only a dog was still barking.",
        "Dawn came.",
    ]
    beads = align_sentences(source, target)  # no bridge
    assert [(b.source, b.target) for b in beads] == [((0, 1), (0,)), ((2,), (1, 2, 3)), ((3,), (4,))]
