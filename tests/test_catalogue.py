"""Issue 18 item 6: the shipped catalogue agrees with the textbook and with brute force (n <= 2)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from ccbounds.catalogue import MEASURES, generate, load_catalogue, named_functions


@pytest.fixture(scope="module")
def table():
    return load_catalogue()


def _rows(table):
    return {r["id"]: r for r in table["rows"]}


def test_every_named_function_has_one_row(table):
    ids = [r["id"] for r in table["rows"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {e.id for e in named_functions()}
    for r in table["rows"]:
        assert set(r["measures"]) == set(MEASURES) and len(r["sha256"]) == 64


def test_no_certificate_failed(table):
    bad = [(r["id"], k) for r in table["rows"] for k, m in r["measures"].items() if m.get("check") is False]
    assert bad == []


def test_textbook_values(table):
    rows = _rows(table)
    for n in range(1, 7):
        for key in ("eq", "disj", "ip", "gt"):
            m = rows[f"{key}-n{n}"]["measures"]
            assert m["D"]["value"] == n + 1, (key, n)  # [KN] Ch. 1: D(EQ_n) = D(DISJ_n) = D(IP_n) = n + 1
            assert m["D_AB"]["value"] == n and m["D_BA"]["value"] == n
        assert rows[f"index-n{n}"]["measures"]["D_BA"]["value"] == math.ceil(math.log2(n)) if n > 1 else True


def _brute(M: np.ndarray) -> dict[str, int]:
    """D, C^D, C^1, C^0 and binary rank by exhaustive search (no ccbounds code)."""
    R, C = M.shape

    def members(mask, n):
        return [i for i in range(n) if mask >> i & 1]

    @cache
    def D(rm, cm):
        vals = {int(M[i, j]) for i in members(rm, R) for j in members(cm, C)}
        if len(vals) == 1:
            return 0
        best = 99
        for side, full in ((0, rm), (1, cm)):
            sub = full
            while sub:
                sub = (sub - 1) & full
                if sub and sub != full:
                    a, b = (sub, full ^ sub)
                    d = max(D(a, cm), D(b, cm)) if side == 0 else max(D(rm, a), D(rm, b))
                    best = min(best, 1 + d)
        return best

    rects = []  # (cell mask, colour)
    for rm in range(1, 1 << R):
        for cm in range(1, 1 << C):
            vals = {int(M[i, j]) for i in members(rm, R) for j in members(cm, C)}
            if len(vals) == 1:
                rects.append((sum(1 << (i * C + j) for i in members(rm, R) for j in members(cm, C)), vals.pop()))

    def fewest(target, colours, disjoint):
        if target == 0:
            return 0
        usable = [m for m, v in rects if v in colours]
        best = [bin(target).count("1")]

        def go(left, used):
            if not left:
                best[0] = min(best[0], used)
                return
            if used + 1 >= best[0]:
                return
            low = left & -left
            for m in usable:
                if m & low and (not disjoint or m & left == m):
                    go(left & ~m, used + 1)

        go(target, 0)
        return best[0]

    cells = {v: sum(1 << (i * C + j) for i in range(R) for j in range(C) if M[i, j] == v) for v in (0, 1)}
    return {"D": D((1 << R) - 1, (1 << C) - 1), "CD": fewest(cells[0] | cells[1], {0, 1}, True),
            "C1": fewest(cells[1], {1}, False), "C0": fewest(cells[0], {0}, False),
            "brank": fewest(cells[1], {1}, True)}


def test_brute_force_for_n_at_most_2(table):
    rows = _rows(table)
    small = [e for e in named_functions(max_n=2)]
    assert len(small) == 10
    for e in small:
        M = e.matrix()
        m = rows[e.id]["measures"]
        b = _brute(M)
        assert m["D"]["value"] == b["D"], e.id
        assert m["CD"]["value"] == b["CD"] and m["brank"]["value"] == b["brank"], e.id
        assert m["N1"]["count"] == b["C1"] and m["N0"]["count"] == b["C0"], e.id
        assert m["D_AB"]["value"] == math.ceil(math.log2(len({M[i].tobytes() for i in range(M.shape[0])})))


@pytest.mark.slow
def test_regenerating_rows_reproduces_the_table(table):
    rows = _rows(table)
    fresh = generate(None, time_limit=3.0, ids=["eq-n2", "index-n2", "ip-n3"])
    for r in fresh["rows"]:
        old = rows[r["id"]]
        assert r["sha256"] == old["sha256"]
        for k in MEASURES:
            assert r["measures"][k]["value"] == old["measures"][k]["value"], (r["id"], k)


def test_cli(capsys, tmp_path):
    from ccbounds.cli import main

    assert main(["catalogue", "--id", "eq-n3"]) == 0
    out = capsys.readouterr().out
    assert "eq-n3" in out and '"sha256"' in out
    assert main(["catalogue", "--id", "nope"]) == 1
    assert "unknown catalogue id" in capsys.readouterr().err
    out_file = tmp_path / "cat.json"
    assert main(["catalogue", "--regenerate", "--id", "eq-n1", "--out", str(out_file)]) == 0
    assert load_catalogue(out_file)["rows"][0]["id"] == "eq-n1"
