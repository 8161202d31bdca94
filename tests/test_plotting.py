"""Tests of ccbounds.plotting: labels with units, titles, legends, the Agg backend, and what the pictures encode."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ccbounds import plotting  # noqa: E402
from ccbounds.bounds import exact_D, largest_fooling_set  # noqa: E402
from ccbounds.errors import InvalidInputError  # noqa: E402
from ccbounds.problems import DISJ, EQ, GT, INDEX, IP  # noqa: E402
from ccbounds.protocols import ProtocolTree, eq_hash_protocol, trivial_protocol, verify  # noqa: E402

UNITS = ("bits", "scalar", "n =", "index", "position", "probability", "depth")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax, *units):
    """x and y labels are non-empty and name a unit; the title is non-empty."""
    assert ax.get_xlabel().strip() and ax.get_ylabel().strip()
    assert ax.get_title().strip() or ax.figure._suptitle is not None
    for label in (ax.get_xlabel(), ax.get_ylabel()):
        assert any(u in label for u in (units or UNITS)), label


def _eq2_tree_on_inputs() -> ProtocolTree:
    """EQ_2: Alice sends x_0, x_1; Bob answers (a tree on the inputs themselves, not on indices)."""
    def bob(a, b):
        return ("Bob", lambda y, a=a, b=b: int(tuple(y) == (a, b)), f"y == {a}{b}", 0, 1)
    return ProtocolTree.from_nested(
        ("Alice", lambda x: x[0], "x_0",
         ("Alice", lambda x: x[1], "x_1", bob(0, 0), bob(0, 1)),
         ("Alice", lambda x: x[1], "x_1", bob(1, 0), bob(1, 1))), name="send x")


def test_palette_is_okabe_ito():
    assert plotting.PALETTE == ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                                "#CC79A7")
    assert set(plotting.COLOURS.values()) == set(plotting.PALETTE)
    assert set(plotting.OWNER_COLOURS.values()) <= set(plotting.PALETTE)


@pytest.mark.parametrize("problem", [EQ(2), DISJ(2), GT(2), IP(2), INDEX(3)])
def test_plot_matrix_labels_ticks_and_pixels(problem):
    ax = plotting.plot_matrix(problem)
    _labelled(ax, "bits", "position")
    assert problem.name in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["".join(map(str, x)) for x in problem.alice_inputs()]
    img = np.asarray(ax.images[0].get_array())[..., :3]
    M = problem.matrix()
    blue = matplotlib.colors.to_rgb(plotting.OUTPUT_COLOURS[1])
    assert np.array_equal(np.all(np.isclose(img, blue), axis=-1), M == 1)  # every cell's colour is its output
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"f = 0", "f = 1"}


@pytest.mark.slow
def test_plot_matrix_large_and_bare_and_invalid():
    ax = plotting.plot_matrix(EQ(5))  # 32 x 32: index ticks, no per-input labels, no cell text
    assert len(ax.get_yticks()) < 32 and not ax.texts
    ax = plotting.plot_matrix([[1, 0, 2], [0, 1, 1]])
    assert ax.get_xlabel() == "Bob's input y (column index)"
    assert ax.get_title() == "matrix 2x3: communication matrix (2 x 3)"
    assert len(ax.get_legend().get_texts()) == 3
    for bad in ([1, 0], [[0.5, 1]], np.zeros((0, 3))):
        with pytest.raises(InvalidInputError):
            plotting.plot_matrix(bad)


def test_tree_layout_brute_force():
    tree = exact_D(DISJ(2)).tree
    pos = plotting.tree_layout(tree)
    depth = nx.single_source_shortest_path_length(tree.graph, tree.root)
    assert all(pos[v][1] == depth[v] for v in tree.graph)
    leaves = sorted(pos[v][0] for v in tree.leaves)
    assert leaves == list(range(len(tree.leaves)))
    for v in tree.graph:
        kids = list(tree.graph.successors(v))
        if kids:
            assert pos[v][0] == pytest.approx(sum(pos[c][0] for c in kids) / 2)
    assert sorted(plotting.leaf_numbers(tree).values()) == list(range(len(tree.leaves)))


def test_plot_protocol_tree_draws_every_node_and_computed_labels():
    tree = exact_D(GT(2)).tree
    ax = plotting.plot_protocol_tree(tree, problem=GT(2))
    _labelled(ax, "bits", "leaves")
    assert ax.get_yticks().tolist() == list(range(tree.cost + 1))
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith("ℓ") for t in texts) == len(tree.leaves)
    assert sum(t.startswith(("Alice", "Bob")) for t in texts) == tree.graph.number_of_nodes() - len(tree.leaves)
    assert sum(t in ("0", "1") for t in texts) == tree.graph.number_of_edges()
    # with the problem, the root's label lists the inputs that send 1, as bit strings
    root = [t for t in texts if t.startswith(("Alice", "Bob"))]
    assert any("∈ {" in t for t in root)
    ax = plotting.plot_protocol_tree(tree)  # without a problem: the stored "x in rows [...]" labels
    assert any("x in rows [" in t.get_text() for t in ax.texts)
    ax = plotting.plot_protocol_tree(exact_D(GT(2).matrix()).tree)  # a bare matrix: index labels
    assert any("row in [" in t.get_text() for t in ax.texts)


def test_plot_rectangles_exact_witness_and_leaf_numbers_match_tree():
    problem = GT(2)
    tree = exact_D(problem).tree
    ax = plotting.plot_rectangles(tree, problem)
    _labelled(ax, "bits")
    assert "a monochromatic partition" in ax.get_title() and "NOT" not in ax.get_title()
    number = plotting.leaf_numbers(tree)
    # brute force: the ℓk written in cell (i, j) is the number of the leaf the tree reaches on (i, j)
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    M = problem.matrix()
    for i in range(4):
        for j in range(4):
            x, y = problem.x_at(i), problem.y_at(j)  # the witness of a Problem reads its inputs
            assert cells[(i, j)] == f"{M[i, j]}\nℓ{number[tree.leaf_of(x, y)]}"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == len(tree.leaves)
    # cells are coloured by the leaf's output, the colours of plot_matrix (blue = 1), not by leaf number
    from matplotlib.colors import to_rgb

    img = ax.get_images()[0].get_array()
    for i in range(4):
        for j in range(4):
            want = to_rgb(plotting.OUTPUT_COLOURS[int(M[i, j])])
            assert np.allclose(img[i, j][:3], want), (i, j)


def test_plot_rectangles_routes_inputs_or_indices():
    tree = _eq2_tree_on_inputs()
    ax = plotting.plot_rectangles(tree, EQ(2))  # auto: the tree reads bit tuples
    assert "a monochromatic partition" in ax.get_title()
    ax = plotting.plot_rectangles(exact_D(EQ(2)).tree, EQ(2))  # the witness of a Problem reads its inputs
    assert "a monochromatic partition" in ax.get_title() and "NOT" not in ax.get_title()
    ax = plotting.plot_rectangles(exact_D(EQ(2).matrix()).tree, EQ(2), by="input")  # an index tree fed bit tuples
    assert "NOT a monochromatic partition" in ax.get_title()
    wrong = ProtocolTree.from_splits(("Alice", [1], 1, 0))  # outputs ignore Bob: not monochromatic on EQ_1
    ax = plotting.plot_rectangles(wrong, EQ(1))
    assert "NOT a monochromatic partition" in ax.get_title()
    with pytest.raises(InvalidInputError):
        plotting.plot_rectangles(tree, EQ(2), by="rows")


def test_plot_fooling_set_valid_and_invalid():
    b = largest_fooling_set(EQ(2), "1")
    ax = plotting.plot_fooling_set(EQ(2), b)
    _labelled(ax, "bits")
    assert "D >= 3 bits" in ax.get_title()
    ringed = ax.collections[0].get_offsets()
    assert sorted((int(r), int(c)) for c, r in ringed) == sorted(b.witness.cells)
    ax = plotting.plot_fooling_set(EQ(2), [(0, 0), (0, 1)])  # same row, different values: fine for combined
    assert "combined-fooling set, 2 cells" in ax.get_title()
    ax = plotting.plot_fooling_set(EQ(2), [(0, 1), (1, 0)])  # two 0-cells, but M[0, 0] = 1 separates them
    assert "combined-fooling set, 2 cells (not proven largest): 3 leaves forced, D >= 2 bits" in ax.get_title()
    ax = plotting.plot_fooling_set(DISJ(1), [(0, 0), (0, 1)])  # both 1, rectangle {0}x{0,1} is all 1
    assert "NOT a combined-fooling set" in ax.get_title()
    with pytest.raises(InvalidInputError):
        plotting.plot_fooling_set(EQ(1), 3)


def test_plot_message_shapes_and_errors():
    ax = plotting.plot_message(np.arange(5.0), precision=8)
    _labelled(ax, "state coordinate", "Alice input")
    assert np.asarray(ax.images[0].get_array()).shape == (1, 5)
    assert "S·b = 5 x 8 = 40 bits" in ax.get_title()
    assert "scalar value" in ax.images[0].colorbar.ax.get_ylabel()
    xs = EQ(2).alice_inputs()
    ax = plotting.plot_message(np.eye(4), inputs=xs, vmax=0.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["00", "01", "10", "11"]
    assert ax.images[0].get_clim() == (0.0, 0.5)
    for bad, kw in ((np.zeros((2, 2, 2)), {}), ([], {}), (np.eye(3), {"inputs": xs})):
        with pytest.raises(InvalidInputError):
            plotting.plot_message(bad, **kw)


def test_plot_message_signed_values_diverge_around_zero_and_segments_are_marked():
    ax = plotting.plot_message([[0.5, -2.0, 1.0, 0.0], [0.1, 0.2, -0.3, 1.5]], segments=[("h", 2), ("c", 2)])
    im = ax.images[0]
    assert im.get_cmap().name == "PuOr_r" and im.get_clim() == (-2.0, 2.0)  # centred: white is 0
    assert [t.get_text() for t in ax.texts] == ["h", "c"] and len(ax.lines) == 1  # one boundary line
    positive = plotting.plot_message([[0.5, 2.0], [0.1, 0.2]])
    assert positive.images[0].get_cmap().name == "cividis"
    with pytest.raises(InvalidInputError):
        plotting.plot_message([[0.5, 2.0]], segments=[("h", 1), ("c", 2)])
    plt.close("all")


def test_separation_data_matches_formulas():
    from ccbounds.models import construction_width

    ns = [8, 1024, 2**20]
    rows = plotting.separation_data(ns, precision=16)
    get = {(r["panel"], r["model"], r["n"]): r["width"] for r in rows}
    for n in ns:
        for panel in ("index lookup", "equality"):
            assert get[(panel, "LSTM", n)] == max(1, math.ceil(n / (2 * 16)))  # S = 2*width, S*b >= n
            assert get[(panel, "GRU", n)] == max(1, math.ceil(n / 16))
        assert get[("index lookup", "1-layer Transformer", n)] == 1  # Lemma T gives no bound: Q = n queries
        assert get[("equality", "1-layer Transformer", n)] == max(1, math.ceil(n / 16) - 1)  # (d_v + 1)*b >= n
        assert get[("index lookup", "1-layer construction", n)] == construction_width("index_lookup", n)
        assert get[("equality", "2-layer construction", n)] == construction_width("two_layer_eq", n)
    # the separation: bounds grow linearly (x1024), constructions logarithmically (less than x2)
    for panel, cons in (("index lookup", "1-layer construction"), ("equality", "2-layer construction")):
        assert get[(panel, "LSTM", 2**20)] / get[(panel, "LSTM", 1024)] == 1024
        assert get[(panel, cons, 2**20)] / get[(panel, cons, 1024)] < 2
    with pytest.raises(InvalidInputError):
        plotting.separation_data([8], panels=["dyck"])
    with pytest.raises(InvalidInputError):
        plotting.separation_data([0])


def test_separation_plot_axes():
    fig = plotting.separation_plot(ns=[8, 64, 512, 4096])
    assert len(fig.axes) == 2 and fig._suptitle.get_text().startswith("Width needed")
    for ax in fig.axes:
        assert ax.get_ylabel() == "width (hidden size per layer; d_model for Transformers)"
        assert ax.get_xlabel() == "input length n (bits)"
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(texts) == len(ax.lines) and not any(t.count("construction") > 1 for t in texts)
        for line in ax.lines:  # no lower bound is drawn at the trivial width 1
            if line.get_linestyle() != "None":
                assert min(line.get_ydata()) > 1
        colours = {line.get_color() for line in ax.lines}
        assert not {plotting.COLOURS["orange"], plotting.COLOURS["vermillion"]} <= colours
    # index lookup: LSTM, GRU and the 1-layer construction (a 1-layer Transformer has no bound there);
    # equality: LSTM, GRU, 1-layer Transformer and the 2-layer construction
    assert [len(ax.lines) for ax in fig.axes] == [3, 4]
    assert "coincide" in fig.caption
    fig2, one = plt.subplots()
    assert plotting.separation_plot(ns=[8, 64], ax=one, panels=["equality"]) is fig2
    with pytest.raises(InvalidInputError):
        plotting.separation_plot(ns=[8], ax=one)  # one Axes for two panels


@pytest.mark.slow
def test_plot_error_vs_bound():
    res = plotting.error_vs_bound_data(n=4, ks=[1, 2, 3], samples=8, coin_samples=40, seed=3)
    assert [r.error_bound for r in res] == [0.5, 0.25, 0.125] and all(r.ok for r in res)
    ax = plotting.plot_error_vs_bound(res)
    _labelled(ax, "bits", "probability")
    assert ax.get_yscale() == "log" and "holds exactly (all coin values run)" in ax.get_title()
    assert "$2^{-k}$" in [t.get_text() for t in ax.get_legend().get_texts()][0]
    x, y = ax.lines[0].get_data()
    assert list(x) == [1, 2, 3] and list(y) == [0.5, 0.25, 0.125]
    assert verify(eq_hash_protocol(4, 2), EQ(4), samples=8, coin_samples=40, seed=3, balanced=False) == res[1]
    with pytest.raises(InvalidInputError):
        plotting.plot_error_vs_bound([verify(trivial_protocol(EQ(1)), EQ(1))])


def test_existing_axes_are_used():
    fig, axes = plt.subplots(1, 3)
    assert plotting.plot_matrix(EQ(1), ax=axes[0]) is axes[0]
    assert plotting.plot_protocol_tree(exact_D(EQ(1)).tree, ax=axes[1]) is axes[1]
    assert plotting.plot_message([1.0, 2.0], ax=axes[2]) is axes[2]
