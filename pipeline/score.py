"""Stage 3: pair each source sentence with its translation and score the pair.

The confidence is a product of factors in [0, 1], one per check below. Each
check needs no reference translation, only the source and the output; a
factor under 1 comes with a warning a reviewer can read in the PO comment.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from .data import Pair, Sentence, Translation, Unit
from .glossary import NO_GLOSSARY, Glossary
from .han import HAN, MACHINE_CHARS_PER_HANZI, expected_english_length
from .protect import codes_of, without_codes

# Below this mean log-probability per token the model itself was unsure
# (an average token probability under e^-1 ≈ 37%); MT quality-estimation
# work finds such outputs much more often wrong.
UNSURE_LOGPROB = -1.0

# Units under this confidence are counted as "of low confidence" in the
# run's summary and in the review report.
LOW_CONFIDENCE = 0.5

# How much the length of a machine translation varies around the expected
# (han.MACHINE_CHARS_PER_HANZI): log(actual/expected) has a spread of about
# sqrt(0.1² + 0.6/n) for n Chinese characters (short sentences vary more).
_RATIO_SPREAD_FLOOR, _RATIO_SPREAD_PER_CHAR = 0.1, 0.6

# A number the translation should repeat: not a month ("7月" comes out as
# "July"), an ordinal ("第3" as "third") or an amount in 万/亿 ("5000万" as
# "50 million"), which English writes differently.
_NUMBER = re.compile(r"(?<!第)(?<![\d.,:])\d+(?:[.,:]\d+)*(?![\d.,:]|\s*[月万亿])")
_ANY_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
# Small numbers are often spelled out in English.
_NUMBER_WORDS = {str(n): word for n, word in enumerate("zero one two three four five six seven eight nine ten".split())}
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
# Placeholders software fills in at run time, which a translation must keep
# verbatim: printf (%s, %1$d, %(name)s), Python/ICU/.NET braces ({0}, {name}),
# shell/JS templates (${name}).
_WORD = re.compile(r"\w+")

Check = tuple[float, str | None]  # (factor, warning)


def pair_and_score(
    sentences: Sequence[Sentence], translations: Sequence[Translation], glossary: Glossary = NO_GLOSSARY
) -> list[Pair]:
    """Pair sentences with their translations, in order, and score each pair."""
    if len(sentences) != len(translations):
        raise ValueError(f"{len(sentences)} sentences but {len(translations)} translations")
    scores: dict[tuple[str, Translation], tuple[float, tuple[str, ...]]] = {}  # long documents repeat a lot
    pairs = []
    for sentence, translation in zip(sentences, translations, strict=True):
        key = (sentence.text, translation)
        if key not in scores:
            scores[key] = score(sentence.text, translation, glossary)
        pairs.append(Pair(sentence, translation, *scores[key]))
    return pairs


def score(source: str, translation: Translation, glossary: Glossary = NO_GLOSSARY) -> tuple[float, tuple[str, ...]]:
    """Return ``(confidence, warnings)`` for one translated sentence.

    A translation a person approved keeps confidence 1 (their judgement
    stands), but is still checked for what a person drops too: numbers,
    placeholders, names, untranslated Chinese, glossary terms (:func:`human_checks`).
    The model's output has the glossary's terms by construction (:mod:`pipeline.glossary`).
    """
    if translation.approval is not None:
        return 1.0, human_checks(source, translation.text, glossary)
    near = translation.near
    if near is not None and translation.text == near.approval.target:  # a person's, for another sentence
        found = human_checks(source, translation.text, glossary)
        return near.score, (f"fuzzy match: {near.describe()}; check what differs", *found)
    source, target = source.strip(), translation.text.strip()
    if not source or not target:
        if source == target:
            return 1.0, ()
        return 0.0, ("the translation is empty" if source else "a translation of nothing",)
    checks = [check(source, translation) for check in _MACHINE_CHECKS]
    confidence = math.prod(factor for factor, _ in checks)
    warnings = tuple(warning for _, warning in checks if warning)
    if near is not None:  # offered beside the model's: worth a look, no doubt about the model's
        warnings += (f"fuzzy match offered: {near.describe()}: {near.approval.target}",)
    return round(confidence, 3), warnings


def human_checks(source: str, target: str, glossary: Glossary = NO_GLOSSARY) -> tuple[str, ...]:
    """The warnings for a translation a person wrote (or an aligned one): only
    the checks of what must survive translation, not those of the model's
    behaviour; and the glossary's terms."""
    if not source.strip() or not target.strip():
        return ()
    translation = Translation(target)
    found = tuple(warning for check in _HUMAN_CHECKS if (warning := check(source.strip(), translation)[1]))
    return found + terms_missing(source, target, glossary)


def terms_missing(source: str, target: str, glossary: Glossary) -> tuple[str, ...]:
    """A warning for each glossary term of ``source`` whose English form ``target`` does not use."""
    return tuple(f"glossary term not used: {t.source} → {t.target}" for t in glossary.missing(source, target))


def _length_ratio(source: str, translation: Translation) -> Check:
    han = len(HAN.findall(source))
    expected = expected_english_length(source, MACHINE_CHARS_PER_HANZI)
    actual = len("".join(translation.text.split()))
    spread = math.sqrt(_RATIO_SPREAD_FLOOR**2 + _RATIO_SPREAD_PER_CHAR / max(han, 1))
    z = math.log(actual / expected) / spread
    if abs(z) <= 2:  # within two spreads of the usual length
        return 1.0, None
    kind = "long" if z > 0 else "short"
    return (
        math.exp(-0.5 * (abs(z) - 2) ** 2),
        f"unusually {kind}: {actual} characters where about {expected:.0f} are usual",
    )


def _untranslated(source: str, translation: Translation) -> Check:
    left = HAN.findall(translation.text)
    if not left:
        return 1.0, None
    share = len(left) / len("".join(translation.text.split()))
    return max(0.0, 1 - 3 * share), f"Chinese left untranslated: {''.join(left)[:20]}"


def _repetition(source: str, translation: Translation) -> Check:
    if translation.looped:
        return 0.3, "the model looped (repeats the same words) even when decoded again with repeats blocked"
    words = _WORD.findall(translation.text.lower())
    trigrams = list(zip(words, words[1:], words[2:], strict=False))  # each word with the next two, while there are two
    repeats = len(trigrams) - len(set(trigrams))
    share = repeats / len(trigrams) if trigrams else 0.0
    if repeats < 2 or share < 0.2:  # prose repeats a phrase now and then
        return 1.0, None
    phrase = " ".join(Counter(trigrams).most_common(1)[0][0])
    return max(0.0, 1 - share), f"repeats itself ({phrase!r}…): possible decoding loop"


def _numbers_kept(source: str, translation: Translation) -> Check:
    numbers = _numbers(_NUMBER.findall(unicodedata.normalize("NFKC", source)))
    target = unicodedata.normalize("NFKC", translation.text)
    found = _numbers(_ANY_NUMBER.findall(target))
    words = set(_WORD.findall(target.lower()))
    missing = sorted(n for n in numbers if n not in found and not (n in _NUMBER_WORDS and _NUMBER_WORDS[n] in words))
    if not missing:
        return 1.0, None
    return 1 - 0.5 * len(missing) / len(numbers), f"numbers missing: {', '.join(missing)}"


def _numbers(found: list[str]) -> set[str]:
    return {n.replace(",", "") for n in found}


def _placeholders_kept(source: str, translation: Translation) -> Check:
    """Placeholders and markup (:mod:`pipeline.protect`): the same set in the
    translation. The model's are put back where it drops them, and said."""
    if translation.repaired:
        put_back = " ".join(translation.repaired)
        return 0.7, (
            f"placeholders, markup or glossary terms the model dropped or repeated were put back: {put_back}; "
            "check their place"
        )
    codes, found = Counter(codes_of(source)), Counter(codes_of(translation.text))
    missing, extra = sorted((codes - found).elements()), sorted((found - codes).elements())
    if not missing and not extra:
        return 1.0, None
    problems = []
    if missing:
        problems.append(f"missing: {' '.join(missing)}")
    if extra:
        problems.append(f"not in the source: {' '.join(extra)}")
    share = min(1.0, (len(missing) + len(extra)) / max(1, codes.total()))
    return 1 - 0.5 * share, f"placeholders {'; '.join(problems)}"


def _latin_words_kept(source: str, translation: Translation) -> Check:
    words = set(_LATIN_WORD.findall(without_codes(source)))  # placeholders and markup are checked on their own
    target = translation.text.lower()
    missing = sorted(w for w in words if w.lower() not in target)
    if not missing:
        return 1.0, None
    return 1 - 0.3 * len(missing) / len(words), f"names or terms missing: {', '.join(missing)}"


def _truncation(source: str, translation: Translation) -> Check:
    if not translation.truncated:
        return 1.0, None
    return 0.5, "the model stopped at its length limit: the end may be missing"


def _model_unsure(source: str, translation: Translation) -> Check:
    if translation.logprob is None or translation.logprob >= UNSURE_LOGPROB:
        return 1.0, None
    return (
        math.exp(translation.logprob - UNSURE_LOGPROB),
        f"the model was unsure: {math.exp(translation.logprob):.0%} average probability per word piece",
    )


def _split(source: str, translation: Translation) -> Check:
    if translation.pieces == 1:
        return 1.0, None
    return 0.9, f"too long for the model: translated in {translation.pieces} pieces and joined"


_HUMAN_CHECKS = (_untranslated, _numbers_kept, _placeholders_kept, _latin_words_kept)
_MACHINE_CHECKS = (
    _length_ratio,
    _untranslated,
    _repetition,
    _numbers_kept,
    _placeholders_kept,
    _latin_words_kept,
    _truncation,
    _split,
    _model_unsure,
)


# What kind of problem each warning is, by how its message starts (the
# messages are written above, and by the aligner and the review loop), for
# a reviewer who filters by kind.
WARNING_KINDS = (
    ("empty", ("the translation is empty", "a translation of nothing")),
    ("length", ("unusually long", "unusually short")),
    ("untranslated", ("Chinese left untranslated",)),
    ("loop", ("the model looped", "repeats itself")),
    ("numbers", ("numbers missing",)),
    ("placeholders", ("placeholders",)),
    ("names", ("names or terms missing",)),
    ("truncated", ("the model stopped at its length limit",)),
    ("split", ("too long for the model",)),
    ("unsure", ("the model was unsure",)),
    ("alignment", ("uncertain alignment", "no counterpart found")),
    ("variants", ("elsewhere translated as",)),
    ("changed", ("the sentence changed",)),
    ("glossary", ("glossary term not used",)),
    ("fuzzy match", ("fuzzy match",)),
)


def warning_kind(warning: str) -> str:
    """The kind of ``warning`` (one of WARNING_KINDS, else "other")."""
    return next((kind for kind, starts in WARNING_KINDS if warning.startswith(starts)), "other")


def group_units(pairs: Sequence[Pair], path: str) -> list[Unit]:
    """Merge pairs with the same source sentence into one unit, in first-seen
    order, with the sentences around its first occurrence."""
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair.source.text, []).append(pair)
    contexts = sentence_contexts([pair.source.text for pair in pairs])
    return [replace(_unit(source, same, path), context=contexts[source]) for source, same in groups.items()]


def sentence_contexts(sentences: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The sentences before and after the first occurrence of each sentence
    (empty at the document's edges): the context CAT tools match in."""
    contexts: dict[str, tuple[str, str]] = {}
    for at, sentence in enumerate(sentences):
        if sentence not in contexts:
            before = sentences[at - 1] if at else ""
            after = sentences[at + 1] if at + 1 < len(sentences) else ""
            contexts[sentence] = (before, after)
    return contexts


def with_terms(units: Sequence[Unit], glossary: Glossary) -> list[Unit]:
    """Each unit with the glossary terms of its source, and the glossary's name and version."""
    if not glossary.terms:
        return list(units)
    found = []
    for unit in units:
        terms = tuple(dict.fromkeys((t.source, t.target) for _, _, t in glossary.find(unit.source)))
        found.append(replace(unit, terms=terms, glossary=glossary.label if terms else ""))
    return found


def _unit(source: str, same: list[Pair], path: str) -> Unit:
    """One unit for a repeated sentence; the first translation wins, others are noted."""
    first = same[0]
    others = dict.fromkeys(p.translation.text for p in same if p.translation.text != first.translation.text)
    return Unit(
        source=source,
        target=first.translation.text,
        confidence=first.confidence,
        warnings=first.warnings + tuple(f"elsewhere translated as: {other}" for other in others),
        locations=tuple((path, p.source.line) for p in same),
        logprob=first.translation.logprob,
        copied=first.translation.copied,
        approval=first.translation.approval,
        near=first.translation.near,
    )
