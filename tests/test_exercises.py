"""ccbounds.exercises: every check accepts a right answer, rejects wrong ones with a reason; student copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccbounds.cli import main
from ccbounds.errors import UnknownNameError
from ccbounds.exercises import EXERCISES, SOLUTION_TAG, _ip_discrepancy_exact, check, strip_solutions
from ccbounds.information import buzzer_protocol
from ccbounds.models.constructions.dyck import dyck_dfa
from ccbounds.protocols import ProtocolTree

ROOT = Path(__file__).resolve().parents[1]


def _gt2_tree(depth4: bool = False, wrong: bool = False):
    def bob(xv):
        return ("Bob", lambda y, _x=xv: int((_x >= (2 * y[0] + y[1])) if wrong else (_x > 2 * y[0] + y[1])),
                "b", 0, 1)

    low = [("Alice", lambda x: x[1], "x0", bob(2 * h), bob(2 * h + 1)) for h in (0, 1)]
    spec = ("Alice", lambda x: x[0], "x1", *low)
    if depth4:
        spec = ("Bob", lambda y: 0, "pad", spec, spec)
    return ProtocolTree.from_nested(spec)


def _dfa_answer(bad: bool = False):
    dfa = dyck_dfa()
    return (lambda u: dfa.run([dfa.symbols[s] for s in u]) if not bad else 0,
            lambda m, v: int(dfa.run([dfa.symbols[s] for s in v], state=m) == 0))


RIGHT = {
    "01.5": _gt2_tree(),
    "01.6": [(x, x) for x in range(8)] + [(x, x - 1) for x in range(1, 8)],
    "01.7": 16,
    "02.5": _dfa_answer(),
    "02.6": lambda x, y: [t for a, b in zip(x, y) for t in (2 * a, 2 * b + 1)],
    "03.5": (lambda x: 4 * x[0] + 2 * x[1] + x[2], lambda m, i: (m >> (2 - i)) & 1 if i < 3 else 0),
    "03.6": 65,
    "04.4": (lambda x: 8 * x[0] + 4 * x[1] + 2 * x[2] + x[3], lambda m, i: (m >> (3 - i)) & 1 if i < 4 else 0),
    "04.5": [0.0, 0.1, 0.4, 0.5],
    "05.1": ([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]),
    "05.2": buzzer_protocol(4),
    "05.3": lambda x: x[:3],
    "05.4": ([0], [1, 2]),
}

WRONG = {
    "01.5": [_gt2_tree(wrong=True), _gt2_tree(depth4=True), "a tree"],
    "01.6": [[(x, x) for x in range(8)], [(0, 0), (0, 1)], "cells"],
    "01.7": [15, 3, "16"],
    "02.5": [_dfa_answer(bad=True), (lambda u: 9, lambda m, v: 0), 5],
    "02.6": [lambda x, y: [0, 1] * 3, lambda x, y: [2 * (a ^ b) for a, b in zip(x, y)] + [1, 1, 1],
             lambda x, y: 1 / 0],
    "03.5": [(lambda x: 0, lambda m, i: 0), (lambda x: 99, lambda m, i: 0)],
    "03.6": [64, 7],
    "04.4": [(lambda x: 0, lambda m, i: 0)],
    "04.5": [[0.25] * 4, [0.1, 0.1, 0.1, 0.1], [0.6, 0.0, 0.2, 0.2]],
    "05.1": [([0], [0]), ([], [1]), ([0, 9], [1]), "rows"],
    "05.2": [buzzer_protocol(3), (ProtocolTree.from_nested(0), None, None), (_gt2_tree(), None, None), 7],
    "05.3": [lambda x: x[:2], lambda x: x, lambda x: [0], lambda x: 1 / 0, 3],
    "05.4": [([0, 1], [0, 1]), ([0], [0]), ([0, 1], [0, 2]), ([3], [0]), "R"],
}


def test_every_exercise_has_right_and_wrong_answers_here():
    assert set(RIGHT) == set(WRONG) == set(EXERCISES)
    for nb in ("01", "02", "03", "04", "05"):
        assert sum(k.startswith(nb) for k in EXERCISES) >= 2


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_right_answers_pass_and_wrong_ones_fail_with_a_reason(exercise):
    r = check(exercise, RIGHT[exercise])
    assert r.ok, r
    for bad in WRONG[exercise]:
        w = check(exercise, bad)
        assert not w.ok and len(w.why) > 20 and "not yet right" in str(w), (bad, w)
    none = check(exercise, None)
    assert not none.ok and "no answer yet" in none.why


def test_unknown_exercise_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="01.5"):
        check("09.9", 1)


def test_strip_solutions_cli_writes_student_copies(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "student"
    assert main(["notebooks", "--strip-solutions", str(out), "--source", str(ROOT / "notebooks")]) == 0
    assert f"wrote {len(list((ROOT / 'notebooks').glob('*.ipynb')))} notebooks" in capsys.readouterr().out
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        full, student = (json.loads(p.read_text(encoding="utf-8")) for p in (src, out / src.name))
        tags = [c.get("metadata", {}).get("tags", []) for c in full["cells"]]
        n_solutions = sum(SOLUTION_TAG in t for t in tags)
        assert n_solutions >= 2, src.name  # at least two exercises with solutions per notebook
        assert len(student["cells"]) == len(full["cells"]) - n_solutions
        assert not any(SOLUTION_TAG in c.get("metadata", {}).get("tags", []) for c in student["cells"])
        assert all(c.get("outputs", []) == [] for c in student["cells"])
        kept = [c["source"] for c in full["cells"] if SOLUTION_TAG not in c.get("metadata", {}).get("tags", [])]
        assert [c["source"] for c in student["cells"]] == kept
        # every check(...) the student will run has its answer cell left in place
        text = "".join("".join(c["source"]) for c in student["cells"])
        for ex in EXERCISES:
            if f'check("{ex}"' in text:
                var = text.split(f'check("{ex}", ')[1].split(")")[0]
                assert f"{var} = None" in text, (src.name, ex)
    assert main(["notebooks", "--strip-solutions", str(out), "--source", str(tmp_path / "none")]) == 1
    assert main(["notebooks"]) == 1
    assert strip_solutions(ROOT / "notebooks" / "01_communication_complexity.ipynb", tmp_path / "one")


def test_ip_discrepancy_by_brute_force_over_both_sides():
    # every rectangle A x B of IP_2 (2^4 x 2^4 of them), independently of the closed form over B
    import numpy as np

    from ccbounds.problems import IP

    S = 1 - 2 * IP(2).matrix()
    subsets = [[i for i in range(4) if m >> i & 1] for m in range(1, 16)]
    best = max(abs(int(S[np.ix_(a, b)].sum())) for a in subsets for b in subsets) / 16
    assert best == _ip_discrepancy_exact(2) == 0.3125 <= 2 ** -1


def test_index4_and_razborov_checks_by_independent_arithmetic():
    from fractions import Fraction

    # sending x_1 x_2 x_3: Bob guesses x_4 and errs on half of the i = 4 queries, 8 of the 64 pairs (x, i)
    assert "8/64" in check("05.3", lambda x: x[:3]).why
    # Razborov's mu at l = 1: 1/8 on each of the 6 disjoint pairs, 1/12 on each of the 3 pairs {i}, {i}
    assert 6 * Fraction(1, 8) == Fraction(3, 4) and 3 * Fraction(1, 12) == Fraction(1, 4)
    # {0} x {1, 2}: two disjoint pairs, 2/8 = 1/4, no meeting pair; a 2x2 square pays 2 * 2/12 for its diagonal
    assert "W = 1/4" in check("05.4", ([0], [1, 2])).why
    assert not check("05.4", ([1, 2], [1, 2])).ok
