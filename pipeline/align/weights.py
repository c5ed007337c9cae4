"""How a bead scores: the aligner's weights, one set with a machine
translation as the bridge and one without."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    """How a bead scores (see bead_scores): its similarity, plus bead_bonus,
    less the costs. Tuned on mac-dev 001-003 and checked on 004-006, with
    and without a machine translation as the bridge."""

    gloss_weight: float  # of a dictionary gloss, against a word of the machine translation
    bead_bonus: float
    size_power: float  # similarity × (sentences in the bead / 2) ** size_power
    member_weight: float  # weight of each sentence's own similarity to the other side
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


WITH_BRIDGE = Weights(
    gloss_weight=0.0,
    bead_bonus=0.142,
    size_power=0.1,
    member_weight=0.5,
    length_power=0.6,
    balance_power=1.75,
    extra_on_longer_side=0.052,
    extra_on_shorter_side=0.025,
    length_weight=0.023,
    length_spread=0.35,
    quote_boundary=0.13,
    quote_presence=0.1,
    quote_count=0.04,
    skip_cost=0.4,
    skip_extend=0.1,
)
# Without a translation, dictionary glosses are the bridge. (With one, glosses
# added nothing on the tuning texts: the translation already has the words.)
WITHOUT_BRIDGE = Weights(
    gloss_weight=1.8,
    bead_bonus=0.262,
    size_power=0.6,
    member_weight=0.9,
    length_power=0.2,
    balance_power=0.25,
    extra_on_longer_side=0.0,
    extra_on_shorter_side=0.045,
    length_weight=0.023,
    length_spread=0.3,
    quote_boundary=0.18,
    quote_presence=0.05,
    quote_count=0.02,
    skip_cost=0.2,
    skip_extend=0.15,
)
