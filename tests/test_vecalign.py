"""Vecalign's bead format and alignment metric."""

import pytest
from conftest import run_cli

from pipeline.data import Bead
from pipeline.errors import ZhenError
from pipeline.vecalign import evaluate, format_beads, parse_beads

GOLD = "[0]:[0]\n[1,2]:[1]\n[3]:[2,3]\n[]:[4]\n[4]:[]\n"


def test_format_round_trip():
    beads = parse_beads(GOLD)
    assert beads[1] == Bead((1, 2), (1,)) and beads[3] == Bead((), (4,)) and beads[4] == Bead((4,), ())
    assert format_beads(beads) == GOLD


def test_malformed_line_is_a_clear_error():
    with pytest.raises(ZhenError, match=r"gold\.align:2: not a bead"):
        parse_beads("[0]:[0]\n0-1\n", "gold.align")


def test_perfect_alignment_scores_one():
    gold = parse_beads(GOLD)
    scores = evaluate([gold], [gold])
    assert scores.strict == scores.lax == (1.0, 1.0, 1.0)


def test_strict_and_lax_counts_by_hand():
    gold = parse_beads(GOLD)
    # [0]:[0] right; [1]:[1] and [2]:[] split a 2-1 bead (lax right, then a
    # wrong deletion); [3]:[2,3] right; []:[4] right; [4]:[] right.
    system = parse_beads("[0]:[0]\n[1]:[1]\n[2]:[]\n[3]:[2,3]\n[]:[4]\n[4]:[]\n")
    scores = evaluate([gold], [system])
    # precision: 6 system beads, 4 exact, 5 sharing a link or exact
    # recall: gold beads with both sides: 3, found exactly 2 of them; lax 3
    assert scores.strict[:2] == pytest.approx((4 / 6, 2 / 3))
    assert scores.lax[:2] == pytest.approx((5 / 6, 3 / 3))
    p, r = 4 / 6, 2 / 3
    assert scores.strict[2] == pytest.approx(2 * p * r / (p + r))


def test_documents_are_counted_together():
    gold = parse_beads(GOLD)
    wrong = parse_beads("[0,1,2,3,4]:[0,1,2,3,4]\n")
    together = evaluate([gold, gold], [gold, wrong])
    assert together.strict[0] == pytest.approx(5 / 6)  # 5 right of 6 system beads


def test_evaluate_alignment_command(tmp_path):
    (tmp_path / "gold.align").write_text(GOLD)
    (tmp_path / "sys.align").write_text("[0]:[0]\n[1]:[1]\n[2]:[]\n[3]:[2,3]\n[]:[4]\n[4]:[]\n")
    result = run_cli("evaluate-alignment", tmp_path / "gold.align", tmp_path / "sys.align")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[1].split() == ["strict", "0.667", "0.667", "0.667"]
    assert lines[2].split() == ["lax", "0.833", "1.000", "0.909"]
    odd = run_cli("evaluate-alignment", tmp_path / "gold.align")
    assert odd.returncode == 2 and b"in pairs" in odd.stderr  # a wrong command line


def test_bertalign_reference_figures_on_mac_dev():
    from conftest import ROOT

    data = ROOT.parent / "shared" / "data" / "mac-dev"
    if not data.is_dir():
        pytest.skip("../shared/data/mac-dev is not here")
    texts = sorted(p for p in data.iterdir() if (p / "gold.align").is_file())
    gold = [parse_beads((t / "gold.align").read_text()) for t in texts]
    bertalign = [parse_beads((t / "bertalign.align").read_text()) for t in texts]
    scores = evaluate(gold, bertalign)
    # The figures its README gives for Bertalign on these six texts.
    assert round(scores.strict[2], 3) == 0.911 and round(scores.lax[2], 3) == 0.998
