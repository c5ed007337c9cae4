"""How a bead scores: the aligner's weights, for a machine translation as
the bridge with and without a sentence encoder, and for no translation.

Each set is fitted on mac-dev's six texts by benchmarks/tune_align.py, which
also fits each text's leave-one-out set (benchmarks/align_folds.json): the
figures `make bench-align` reports come from those, not from these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    """How a bead scores (see bead_scores): its similarity, plus bead_bonus,
    less the costs."""

    gloss_weight: float  # of a dictionary gloss, against a word of the machine translation
    bead_bonus: float
    size_power: float  # similarity × (sentences in the bead / 2) ** size_power
    member_weight: float  # weight of each sentence's own similarity to the other side
    meaning_share: float  # of the sentence encoder's similarities; the words' have the rest
    length_power: float  # similarity × log2(1 + shorter/longer length) ** length_power
    balance_power: float  # similarity × (2|x||y| / (|x|² + |y|²)) ** balance_power
    extra_on_longer_side: float  # per sentence beyond the first on the side with more
    extra_on_shorter_side: float
    length_weight: float  # per unit of squared Gale-Church deviation
    length_spread: float  # spread of log(actual/expected length) for long sentences
    quote_boundary: float  # the bead ends inside a quotation on one side only
    quote_presence: float  # one side has speech (words in quotation marks), the other none
    quote_count: float  # per quotation opened on one side more than on the other
    skip_cost: float  # a sentence with no counterpart, or the first of a run of them
    skip_extend: float  # each further sentence of such a run


# A machine translation as the bridge, no sentence encoder.
WITH_BRIDGE = Weights(
    gloss_weight=0.0,
    bead_bonus=0.2,
    size_power=0.4,
    member_weight=0.6,
    meaning_share=0.0,
    length_power=0.5,
    balance_power=1.75,
    extra_on_longer_side=0.05,
    extra_on_shorter_side=0.03,
    length_weight=0.02,
    length_spread=0.3,
    quote_boundary=0.15,
    quote_presence=0.1,
    quote_count=0.07,
    skip_cost=0.3,
    skip_extend=0.1,
)
# A machine translation and a sentence encoder, which shares the similarity with the words.
WITH_ENCODER = Weights(
    gloss_weight=0.0,
    bead_bonus=0.23,
    size_power=0.4,
    member_weight=0.5,
    meaning_share=0.5,
    length_power=0.1,
    balance_power=0.75,
    extra_on_longer_side=0.03,
    extra_on_shorter_side=0.05,
    length_weight=0.02,
    length_spread=0.25,
    quote_boundary=0.1,
    quote_presence=0.1,
    quote_count=0.05,
    skip_cost=0.2,
    skip_extend=0.1,
)
# Without a translation, dictionary glosses are the bridge. (With one, glosses
# add nothing: the translation already has the words.)
WITHOUT_BRIDGE = Weights(
    gloss_weight=1.8,
    bead_bonus=0.14,
    size_power=0.7,
    member_weight=1.1,
    meaning_share=0.0,
    length_power=0.3,
    balance_power=1.0,
    extra_on_longer_side=0.03,
    extra_on_shorter_side=0.05,
    length_weight=0.02,
    length_spread=0.25,
    quote_boundary=0.05,
    quote_presence=0.1,
    quote_count=0.05,
    skip_cost=0.3,
    skip_extend=0.15,
)
