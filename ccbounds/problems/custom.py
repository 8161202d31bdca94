"""Problems given by the user: as a matrix, or as a function on finite input lists (theory §3).

Examples
--------
>>> Problem.from_matrix([[0, 1], [1, 0]], name="XOR").matrix().tolist()
[[0, 1], [1, 0]]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from ccbounds.bound_record import Bound
from ccbounds.errors import InvalidInputError, TooLargeError
from ccbounds.problems.base import MAX_INPUTS, MAX_MATRIX_ENTRIES, MAX_OUTPUT_VALUE, Problem
from ccbounds.problems.facts import matrix_distributional_bound

__all__ = ["MatrixProblem", "FunctionProblem"]


class MatrixProblem(Problem):
    """A problem given by its matrix; Alice's input is a row index, Bob's a column index.

    Entries must be integers in [0, :data:`MAX_OUTPUT_VALUE`] (0/1 for boolean problems); the outputs are
    ``range(max(1, M.max()) + 1)``. NaN, non-integral, negative, empty, ragged and non-2-D inputs raise
    :class:`InvalidInputError`; more than :data:`MAX_MATRIX_ENTRIES` entries raise :class:`TooLargeError`.

    Examples
    --------
    >>> p = Problem.from_matrix([[1, 0], [0, 1], [1, 1]])
    >>> p.name, p.f(2, 0), p.outputs
    ('matrix 3x2', 1, (0, 1))
    """

    description = "a function given by its matrix (inputs: row and column indices)"

    def __init__(self, M: Any, name: str | None = None) -> None:
        try:
            a = np.asarray(M)
        except ValueError:
            raise InvalidInputError("the matrix is ragged: give a rectangular 2-D array of 0/1 entries") from None
        if a.dtype == object:
            raise InvalidInputError("the matrix is ragged or has non-numeric entries: give a rectangular 2-D array of "
                                    "ints")
        if a.ndim != 2:
            raise InvalidInputError(f"the matrix must be 2-D, got {a.ndim}-D with shape {a.shape}; reshape it to "
                                    f"(rows, columns)")
        if a.size == 0:
            raise InvalidInputError(f"the matrix is empty (shape {a.shape}); give at least one row and one column")
        if a.size > MAX_MATRIX_ENTRIES:
            raise TooLargeError(f"the matrix has {a.size} entries, more than MAX_MATRIX_ENTRIES = {MAX_MATRIX_ENTRIES}")
        if a.dtype.kind not in "biuf":
            raise InvalidInputError(f"matrix entries must be integers, got dtype {a.dtype}")
        if a.dtype.kind == "f" and (not np.isfinite(a).all() or (a != np.round(a)).any()):
            raise InvalidInputError("matrix entries must be integers 0/1 (or small non-negative ints); found NaN, inf "
                                    "or a fraction")
        if (a < 0).any() or (a > MAX_OUTPUT_VALUE).any():
            raise InvalidInputError(f"matrix entries must be in 0..{MAX_OUTPUT_VALUE} (0/1 for boolean problems)")
        self._M = a.astype(np.int8)
        self._M.setflags(write=False)
        self.name = name or f"matrix {a.shape[0]}x{a.shape[1]}"
        self.outputs = tuple(range(max(1, int(self._M.max())) + 1))

    def _idx(self, v: Any, size: int, who: str) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < size:
            raise InvalidInputError(f"{who}'s input to {self.name} must be an index in 0..{size - 1}, got {v!r}")
        return int(v)

    def check_x(self, x: Any) -> int:
        """Validate a row index."""
        return self._idx(x, self._M.shape[0], "Alice")

    def check_y(self, y: Any) -> int:
        """Validate a column index."""
        return self._idx(y, self._M.shape[1], "Bob")

    def _f(self, x: int, y: int) -> int:
        return int(self._M[x, y])

    @property
    def num_alice_inputs(self) -> int:
        return int(self._M.shape[0])

    @property
    def num_bob_inputs(self) -> int:
        return int(self._M.shape[1])

    def _x_at(self, i: int) -> int:
        return i

    _y_at = _x_at

    def distributional_bound(self, eps: float) -> Bound:
        """Exact D^{A->B,mu}_eps under the audit's mu (:func:`~ccbounds.problems.facts.matrix_distributional_bound`)."""
        return matrix_distributional_bound(self, eps)

    def x_index(self, x: Any) -> int:
        return self.check_x(x)

    def y_index(self, y: Any) -> int:
        return self.check_y(y)

    def matrix(self) -> np.ndarray:
        return self._M.copy()


class FunctionProblem(Problem):
    """A problem given by a function f and lists X, Y of hashable inputs (in that order).

    ``f`` must return one of ``outputs`` (ints in [0, :data:`MAX_OUTPUT_VALUE`]); anything else raises
    :class:`InvalidInputError` when it is evaluated.

    Examples
    --------
    >>> p = Problem.from_function(lambda x, y: int(x + y >= 3), [0, 1, 2], [0, 1, 2], name="SUM>=3")
    >>> p.matrix().tolist()
    [[0, 0, 0], [0, 0, 1], [0, 1, 1]]
    """

    description = "a user-given function on finite input lists"

    def __init__(self, f: Callable[[Any, Any], int], X: Sequence[Hashable], Y: Sequence[Hashable],
                 name: str | None = None, outputs: Sequence[int] = (0, 1)) -> None:
        if not callable(f):
            raise InvalidInputError(f"f must be callable f(x, y), got {f!r}")
        self._func = f
        self._X, self._Y = self._index(X, "X"), self._index(Y, "Y")
        self._xs, self._ys = list(X), list(Y)
        outs = tuple(outputs)
        if not outs or any(isinstance(o, bool) or not isinstance(o, int) or not 0 <= o <= MAX_OUTPUT_VALUE
                           for o in outs):
            raise InvalidInputError(f"outputs must be ints in 0..{MAX_OUTPUT_VALUE}, got {outputs!r}")
        self.outputs = outs
        self.name = name or f"function {len(self._xs)}x{len(self._ys)}"

    @staticmethod
    def _index(values: Sequence[Hashable], what: str) -> dict:
        try:
            vals = list(values)
            index = {v: i for i, v in enumerate(vals)}
        except TypeError:
            raise InvalidInputError(f"{what} must be a list of hashable inputs (use tuples, not lists)") from None
        if not vals:
            raise InvalidInputError(f"{what} is empty; give at least one input")
        if len(index) != len(vals):
            raise InvalidInputError(f"{what} has repeated inputs; list each input once")
        if len(vals) > MAX_INPUTS:
            raise TooLargeError(f"{what} has {len(vals)} inputs, more than MAX_INPUTS = {MAX_INPUTS}")
        return index

    def _member(self, v: Any, index: dict, who: str) -> Any:
        try:
            ok = v in index
        except TypeError:
            ok = False
        if not ok:
            raise InvalidInputError(f"{v!r} is not one of {who}'s inputs to {self.name}")
        return v

    def check_x(self, x: Any) -> Any:
        """Validate that x is in X."""
        return self._member(x, self._X, "Alice")

    def check_y(self, y: Any) -> Any:
        """Validate that y is in Y."""
        return self._member(y, self._Y, "Bob")

    def _f(self, x: Any, y: Any) -> int:
        v = self._func(x, y)
        try:
            ok = v in self.outputs
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InvalidInputError(f"f({x!r}, {y!r}) = {v!r} is not one of the outputs {self.outputs}")
        return int(v)

    @property
    def num_alice_inputs(self) -> int:
        return len(self._xs)

    @property
    def num_bob_inputs(self) -> int:
        return len(self._ys)

    def _x_at(self, i: int) -> Any:
        return self._xs[i]

    def _y_at(self, j: int) -> Any:
        return self._ys[j]

    def distributional_bound(self, eps: float) -> Bound:
        """Exact D^{A->B,mu}_eps under the audit's mu (:func:`~ccbounds.problems.facts.matrix_distributional_bound`)."""
        return matrix_distributional_bound(self, eps)

    def x_index(self, x: Any) -> int:
        return self._X[self.check_x(x)]

    def y_index(self, y: Any) -> int:
        return self._Y[self.check_y(y)]
