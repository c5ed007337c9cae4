"""Sentence segmentation benchmark: boundary precision, recall and F1 on mac-dev.

Each mac-dev text holds one gold sentence per line; joining the Chinese lines
without a separator (English with single spaces) gives running text whose gold
boundaries are the line breaks. zhen's segmenter and the ones a user would
otherwise pick (pySBD, sentence-splitter) segment that running text, and each is
scored on where its sentences start. Characters per second are measured in the
same run, so the figures compare side by side.

    python benchmarks/bench_segment.py [--data ../shared/data/mac-dev]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.segment import segment

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mac-dev"
# Rules were tuned looking at these; the others are held out.
TUNING = ("001", "002", "003")
SEPARATORS = {"zh": "", "en": " "}
GOALS = {"zh": 0.985, "en": 0.993}
SPEED_GOAL_ZH = 5e6  # bytes of UTF-8 Chinese text per second

Splitter = Callable[[str], list[str]]


@dataclass
class Counts:
    correct: int = 0
    found: int = 0
    gold: int = 0

    def add(self, other: Counts) -> None:
        self.correct += other.correct
        self.found += other.found
        self.gold += other.gold

    def prf(self) -> tuple[float, float, float]:
        p = self.correct / self.found if self.found else 0.0
        r = self.correct / self.gold if self.gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def gold_text(path: Path, lang: str) -> tuple[str, set[int]]:
    """The running text and the offsets where its gold sentences 2..n start."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    text = SEPARATORS[lang].join(lines)
    starts, offset = set(), 0
    for line in lines[:-1]:
        offset += len(line) + len(SEPARATORS[lang])
        starts.add(offset)
    return text, starts


def starts_of(text: str, sentences: list[str]) -> set[int]:
    """Where each sentence after the first starts, found in order in ``text``
    (the other tools return strings, not spans; they may strip whitespace)."""
    starts, pos = set(), 0
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        found = text.find(sentence, pos)
        if found < 0:
            raise ValueError(f"segmenter changed the text near {sentence[:30]!r}")
        starts.add(found)
        pos = found + len(sentence)
    starts.discard(0)
    return starts


def zhen_splitter(lang: str) -> Splitter:
    return lambda text: [s.text for s in segment(text, lang)]


def other_splitters(lang: str) -> dict[str, Splitter]:
    """The segmenters a user would otherwise reach for, where installed."""
    found: dict[str, Splitter] = {}
    try:
        import pysbd

        pysbd_segmenter = pysbd.Segmenter(language=lang, clean=False)
        found["pySBD"] = pysbd_segmenter.segment
    except ImportError:
        print("  (pySBD not installed: pip install -e '.[bench]')")
    if lang == "en":
        try:
            from sentence_splitter import SentenceSplitter

            found["sentence-splitter"] = SentenceSplitter(language="en").split
        except ImportError:
            print("  (sentence-splitter not installed: pip install -e '.[bench]')")
    return found


def score(splitter: Splitter, text: str, gold: set[int]) -> tuple[Counts, float]:
    started = time.perf_counter()
    sentences = splitter(text)
    seconds = time.perf_counter() - started
    found = starts_of(text, sentences)
    return Counts(len(found & gold), len(found), len(gold)), seconds


def bench_language(data: Path, lang: str, show_errors: bool) -> None:
    texts = sorted(p.name for p in data.iterdir() if (p / f"{lang}.txt").is_file())
    held_out = [t for t in texts if t not in TUNING]
    splitters = {"zhen": zhen_splitter(lang), **other_splitters(lang)}
    print(
        f"\n{lang}: boundary precision / recall / F1 over {len(texts)} texts "
        f"(tuned on {', '.join(TUNING)}; held out {', '.join(held_out)})"
    )
    print(f"  {'segmenter':<18} {'set':<9} {'P':>6} {'R':>6} {'F1':>6} {'Mchar/s':>8} {'MB/s':>8}")
    zhen_all_f1, zhen_speed = 0.0, 0.0
    for name, splitter in splitters.items():
        by_set = {"tuning": Counts(), "held-out": Counts(), "all": Counts()}
        chars, nbytes, seconds, errors = 0, 0, 0.0, []
        for t in texts:
            text, gold = gold_text(data / t / f"{lang}.txt", lang)
            counts, took = score(splitter, text, gold)
            by_set["tuning" if t in TUNING else "held-out"].add(counts)
            by_set["all"].add(counts)
            chars, nbytes, seconds = chars + len(text), nbytes + len(text.encode()), seconds + took
            if show_errors and name == "zhen":
                errors += wrong_boundaries(t, text, gold, starts_of(text, splitter(text)))
        speed = nbytes / seconds
        for set_name, counts in by_set.items():
            if not counts.gold:
                continue
            p, r, f = counts.prf()
            rate = f"{chars / seconds / 1e6:8.2f} {speed / 1e6:8.2f}" if set_name == "all" else ""
            print(f"  {name:<18} {set_name:<9} {p:6.3f} {r:6.3f} {f:6.3f} {rate}")
        print("\n".join(errors), end="\n" if errors else "")
        if name == "zhen":
            zhen_all_f1, zhen_speed = by_set["all"].prf()[2], speed
    met = zhen_all_f1 >= GOALS[lang] and (lang != "zh" or zhen_speed >= SPEED_GOAL_ZH)
    goal = f"F1 >= {GOALS[lang]}" + (f", >= {SPEED_GOAL_ZH / 1e6:.0f} MB/s" if lang == "zh" else "")
    print(f"  goal ({goal}): {'met' if met else 'NOT met'}")


def wrong_boundaries(name: str, text: str, gold: set[int], found: set[int]) -> list[str]:
    """One line per missed or extra boundary, shown as ‖ in its context."""
    return [
        f"    {name} {'missed' if pos in gold else 'extra '} {text[max(0, pos - 30) : pos]}‖{text[pos : pos + 20]}"
        for pos in sorted(gold ^ found)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="mac-dev folder")
    parser.add_argument("--lang", choices=("zh", "en"), action="append", help="default: both")
    parser.add_argument("--errors", action="store_true", help="print zhen's wrong boundaries")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"skipped: {args.data} not found (the mac-dev data lives in ../shared)")
        return 0
    for lang in args.lang or ("zh", "en"):
        bench_language(args.data, lang, args.errors)
    return 0  # a benchmark reports its goals; only a broken one fails


if __name__ == "__main__":
    sys.exit(main())
