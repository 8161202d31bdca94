"""Pictures for teaching and for papers: matrices, protocol trees, rectangles, fooling sets, messages, separations.

Every function takes ``ax=None`` (a new figure when omitted) and returns the Axes it drew on (the
Figure for the two-panel :func:`separation_plot`). Axes are labelled with their units (bits, scalars,
input length n), colours come from the Okabe–Ito colour-blind-safe :data:`PALETTE`, and matplotlib is
imported inside the functions only. The communication-complexity plots (:func:`plot_matrix`,
:func:`plot_protocol_tree`, :func:`plot_rectangles`, :func:`plot_fooling_set`,
:func:`plot_error_vs_bound`, :func:`plot_message`) never import torch.

========================  ===========================================================  =========
function                  draws                                                        theory
========================  ===========================================================  =========
plot_matrix               the communication matrix, rows = Alice's inputs               §1
plot_protocol_tree        a ProtocolTree top-down; height = bits sent                   §1
plot_rectangles           the matrix coloured by the tree's leaf rectangles             §3
plot_fooling_set          the matrix with a fooling set's cells ringed                  §3
plot_error_vs_bound       random-parity EQ: measured error vs 2^-k                      §2
plot_message              an induced protocol's messages, (K, S) heatmap                §4
separation_plot           width vs n: RNNs / 1-layer TF bounds vs [BHBK] constructions  §4, §7
========================  ===========================================================  =========

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> from ccbounds.problems import DISJ
>>> plot_matrix(DISJ(1)).get_ylabel()
"Alice's input x ∈ {0,1}^1 (n = 1 bits)"
>>> plt.close("all")

References
----------
M. Okabe and K. Ito, Color Universal Design (CUD): how to make figures and presentations that are
friendly to colorblind people, 2008.
"""

from __future__ import annotations

from ccbounds.plotting._style import COLOURS, OWNER_COLOURS, PALETTE, add_caption
from ccbounds.plotting.matrix import OUTPUT_COLOURS, plot_fooling_set, plot_matrix, plot_rectangles
from ccbounds.plotting.models import DEFAULT_NS, PANELS, plot_message, separation_data, separation_plot
from ccbounds.plotting.randomized import error_vs_bound_data, plot_error_vs_bound
from ccbounds.plotting.tree import leaf_numbers, plot_protocol_tree, tree_layout

__all__ = [
    "PALETTE", "COLOURS", "OWNER_COLOURS", "OUTPUT_COLOURS", "add_caption",
    "plot_matrix", "plot_protocol_tree", "tree_layout", "leaf_numbers", "plot_rectangles", "plot_fooling_set",
    "plot_message", "separation_plot", "separation_data", "DEFAULT_NS", "PANELS",
    "plot_error_vs_bound", "error_vs_bound_data",
]
