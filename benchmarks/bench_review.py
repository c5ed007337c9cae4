"""The review loop at scale: merging a large reviewed PO, importing a large TMX.

1. A reviewed PO with many approved entries whose sentences all left the
   document, and a new version of the document: some new sentences are
   edits of old ones (offered their old translation, as msgmerge does),
   the rest are new. Reports the time of the merge (keep_reviewed) and
   how many edits were found.
2. ``zhen import-tmx`` of a large TMX (synthetic units), in a child process:
   time, and peak memory, which must not grow with the file.
3. Fuzzy matches from a translation memory of a million approved units for
   ten thousand new sentences, half of them edits of approved ones (goal:
   under a minute, the index built included).

    python benchmarks/bench_review.py [--old 100000 --new 10000] [--tmx-mib 200] [--memory 1000000]

Figures are from one run on this machine; the merge is compared with the
size ten times smaller in the same run, so that the ratio (not the time)
says whether it scales linearly.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

import polib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.data import Approval, Provenance, Unit
from pipeline.memory import TranslationMemory
from pipeline.po import keep_reviewed, po_file
from pipeline.settings import creation_time

HANZI = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000))


def sentence(rng: random.Random) -> str:
    return "".join(rng.choice(HANZI) for _ in range(rng.randint(12, 30))) + "。"


def edited(rng: random.Random, text: str) -> str:
    """One or two characters changed: a sentence a writer revised."""
    chars = list(text)
    for _ in range(rng.randint(1, 2)):
        chars[rng.randrange(len(chars) - 1)] = rng.choice(HANZI)
    return "".join(chars)


def merge(old_count: int, new_count: int, seed: int = 1) -> tuple[float, int, int]:
    """Seconds to merge, edits planted, edits offered their old translation."""
    rng = random.Random(seed)
    old_sentences = [sentence(rng) for _ in range(old_count)]
    previous = polib.POFile(wrapwidth=0)
    for number, text in enumerate(old_sentences):
        previous.append(polib.POEntry(msgid=text, msgstr=f"Reviewed translation {number}."))
    planted = new_count // 2
    new_sentences = [edited(rng, text) for text in rng.sample(old_sentences, planted)]
    new_sentences += [sentence(rng) for _ in range(new_count - planted)]
    units = [Unit(text, "Machine draft.", 0.9, (), (("doc.txt", line),)) for line, text in enumerate(new_sentences, 1)]
    fresh = po_file(units, Provenance("bench", creation_time()), "doc.txt")
    started = time.perf_counter()
    keep_reviewed(fresh, previous)
    seconds = time.perf_counter() - started
    return seconds, planted, sum(1 for entry in fresh if entry.previous_msgid)


def fuzzy_matches(memory_size: int, new_count: int) -> tuple[float, int, int, int]:
    """Seconds for TranslationMemory.near, edits planted, edits found, and the
    peak MiB of the child process that measured them."""
    command = [sys.executable, __file__, "--fuzzy-only", "--memory", str(memory_size), "--new", str(new_count)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds, planted, hits, peak = result.stdout.split()
    return float(seconds), int(planted), int(hits), int(peak)


def _measure_fuzzy_matches(memory_size: int, new_count: int, seed: int = 3) -> None:
    """In the child: a memory of synthetic approvals, then the timed lookup."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        memory = TranslationMemory(Path(folder) / "tm.sqlite")
        old = [sentence(rng) for _ in range(memory_size)]
        when = creation_time()
        memory.learn(Approval(text, f"Approved {n}.", "bench", when) for n, text in enumerate(old))
        planted = new_count // 2
        new = [edited(rng, text) for text in rng.sample(old, planted)]
        new += [sentence(rng) for _ in range(new_count - planted)]
        started = time.perf_counter()
        found = memory.near(new, 0.75)
        seconds = time.perf_counter() - started
    hits = sum(1 for text in new[:planted] if text in found)
    peak = int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) // 1024
    print(seconds, planted, hits, peak)


def write_tmx(path: Path, mib: int, seed: int = 2) -> int:
    """A TMX of about ``mib`` MiB of approved zh→en units; returns how many."""
    rng = random.Random(seed)
    units = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header srclang="zh-CN"/><body>\n')
        while out.tell() < mib << 20:
            english = " ".join(rng.choice(("the", "model", "review", "of", "a", "sentence")) for _ in range(12))
            out.write(
                f'<tu><tuv xml:lang="zh-CN"><seg>{escape(sentence(rng))}</seg></tuv>'
                f'<tuv xml:lang="en"><seg>{escape(english)}.</seg></tuv></tu>\n'
            )
            units += 1
        out.write("</body></tmx>\n")
    return units


def import_tmx(mib: int) -> tuple[int, float, int]:
    """Units, seconds and peak memory (MiB, VmHWM) of `zhen import-tmx` of a TMX of ``mib`` MiB."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.tmx"
        units = write_tmx(path, mib)
        report = (
            "import re, sys; from pipeline.cli import main; code = main(sys.argv[1:]); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); sys.exit(code)"
        )
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", report, "import-tmx", str(path), "--new-tm", str(Path(tmp) / "tm.sqlite"), "-q"],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
    return units, seconds, int(result.stdout.split()[-1]) // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=int, default=100_000, help="approved entries whose sentence left")
    parser.add_argument("--new", type=int, default=10_000, help="new sentences, half of them edits")
    parser.add_argument("--tmx-mib", type=int, default=200, help="size of the TMX to import")
    parser.add_argument("--memory", type=int, default=1_000_000, help="approved units for the fuzzy-match lookup")
    parser.add_argument("--fuzzy-only", action="store_true", help=argparse.SUPPRESS)  # the child of fuzzy_matches
    args = parser.parse_args()
    if args.fuzzy_only:
        _measure_fuzzy_matches(args.memory, args.new)
        return 0
    print("merge of a reviewed PO (keep_reviewed): entries that left x new sentences")
    small = merge(args.old // 10, args.new // 10)
    large = merge(args.old, args.new)
    for (old, new), (seconds, planted, found) in (
        ((args.old // 10, args.new // 10), small),
        ((args.old, args.new), large),
    ):
        print(
            f"  {old:>7,} x {new:>6,}: {seconds:6.2f} s, {found:,} of {planted:,} edits offered their old translation"
        )
    print(f"  10x the entries took {large[0] / small[0]:.1f}x the time (linear: 10x; quadratic: 100x)")
    units, seconds, peak = import_tmx(args.tmx_mib)
    print(f"import-tmx of {args.tmx_mib} MiB ({units:,} units): {seconds:.1f} s, peak memory {peak} MiB")
    seconds, planted, hits, peak = fuzzy_matches(args.memory, args.new)
    goal = "met" if seconds < 60 else "NOT met"
    print(
        f"fuzzy matches, {args.memory:,} approved units x {args.new:,} new sentences: {seconds:.1f} s "
        f"(goal under 60 s: {goal}), {hits:,} of {planted:,} edits matched, peak memory {peak} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
