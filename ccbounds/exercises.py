"""Exercises of the notebooks: ``check(exercise, answer)`` says right or wrong, and why.

Each exercise of notebooks 01–04 that asks for a construction or a proof step has an id ("01.5", "02.6", ...), an
answer cell the student fills, a ``check`` call, and a solution in a cell tagged ``solution``. The checks recompute
everything from the answer by brute force over all inputs; none of them looks up a stored answer except where the
answer is a number whose derivation the message then gives. :func:`strip_solutions` writes the notebooks without
their solution cells for students (``ccbounds notebooks --strip-solutions OUTDIR``).

Examples
--------
>>> check("01.6", None).ok
False
>>> r = check("03.6", 65)
>>> r.ok, str(r).split(":")[0]
(True, '03.6')
>>> sorted(EXERCISES)[:3]
['01.5', '01.6', '01.7']
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError, UnknownNameError

__all__ = ["CheckResult", "check", "EXERCISES", "strip_solutions", "SOLUTION_TAG"]

#: the cell tag that marks a solution
SOLUTION_TAG = "solution"


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer: ``ok`` and a sentence saying why."""

    exercise: str
    ok: bool
    why: str

    def __str__(self) -> str:
        return f"{self.exercise}: {'right' if self.ok else 'not yet right'} — {self.why}"

    def _repr_html_(self) -> str:
        import html

        colour = "#009E73" if self.ok else "#D55E00"
        return f"<p style='color:{colour}'><b>{html.escape(str(self))}</b></p>"


def _h2(p: float) -> float:
    return 0.0 if p <= 0 or p >= 1 else -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def _bits(n: int) -> list[tuple[int, ...]]:
    return list(itertools.product((0, 1), repeat=n))


def _call(f: Callable[..., Any], *args: Any) -> Any:
    try:
        return f(*args)
    except Exception as e:  # a student's function may fail in any way: report it, do not crash
        raise _Wrong(f"calling it on {args!r} raised {type(e).__name__}: {e}") from None


class _Wrong(Exception):
    pass


# -- 01 ------------------------------------------------------------------------------------------------------------
def _gt2_tree(tree: Any) -> str:
    from ccbounds.problems import GT
    from ccbounds.protocols import ProtocolTree

    if not isinstance(tree, ProtocolTree):
        raise _Wrong(f"expected a ProtocolTree (ProtocolTree.from_nested(...)), got {type(tree).__name__}")
    gt = GT(2)
    for x in gt.alice_inputs():
        for y in gt.bob_inputs():
            out = _call(tree.output, x, y)
            if out != gt.f(x, y):
                raise _Wrong(f"on x = {x}, y = {y} it answers {out!r}, but GT = {gt.f(x, y)} (bit tuples are "
                             "most significant first)")
    if tree.cost > 3:
        raise _Wrong(f"it is correct but has depth {tree.cost} > 3 (hint: Alice can send all of x in 2 bits)")
    return (f"correct on all 16 inputs with depth {tree.cost}; since D(GT_2) = 3 (notebook 01's exact search), "
            "it is optimal")


def _gt3_fooling(cells: Any) -> str:
    from ccbounds.bounds import is_fooling_set
    from ccbounds.problems import GT

    M = GT(3).matrix()
    try:
        pairs = [(int(i), int(j)) for i, j in cells]
    except (TypeError, ValueError):
        raise _Wrong("give a list of (row, column) index pairs") from None
    if not is_fooling_set(pairs, M, "combined"):
        for (a, b), (c, d) in itertools.combinations(pairs, 2):
            if not (0 <= a < 8 and 0 <= b < 8 and 0 <= c < 8 and 0 <= d < 8):
                raise _Wrong(f"cell {(a, b)} or {(c, d)} is outside the 8 x 8 matrix")
            if M[a, b] == M[c, d] == M[a, d] == M[c, b]:
                raise _Wrong(f"cells {(a, b)} and {(c, d)} can share a leaf: both cross cells {(a, d)}, {(c, b)} "
                             f"have the same value {M[a, b]}")
        raise _Wrong("the cells are not distinct")
    need = math.ceil(math.log2(len(pairs)))
    if need < 4:
        raise _Wrong(f"a valid fooling set, but of size {len(pairs)}: it only shows D >= {need}; find 15 cells "
                     "(hint: the diagonal is a 0-fooling set, the cells (x, x - 1) a 1-fooling set)")
    return f"{len(pairs)} cells, no two sharing a leaf: D(GT_3) >= ceil(log2 {len(pairs)}) = {need} = n + 1"


#: Newman's theorem for EQ_64 with the k = 2 public-coin protocol and delta = 1/12
_NEWMAN = {"n": 64, "k": 2, "delta": 1 / 12}


def _newman_cost(cost: Any) -> str:
    n, k, delta = _NEWMAN["n"], _NEWMAN["k"], _NEWMAN["delta"]
    # t strings: for each of the 2^{2n} inputs Hoeffding gives P[bad fraction >= eps + delta] <= exp(-2 delta^2 t);
    # the union bound needs 2^{2n} exp(-2 delta^2 t) < 1, i.e. t > n ln 2 / delta^2
    t = math.floor(n * math.log(2) / delta**2) + 1
    want = math.ceil(math.log2(t)) + k + 1
    if not isinstance(cost, (int, float)) or isinstance(cost, bool):
        raise _Wrong("give the number of bits (an integer)")
    if int(cost) != want:
        raise _Wrong(f"{cost} bits is not it: t strings need 2^(2n) exp(-2 delta^2 t) < 1 (Hoeffding per input, "
                     "union bound over all inputs), then Alice sends the index of a string (ceil(log2 t) bits) "
                     "before the k + 1 bits of the public-coin protocol")
    return (f"t = {t} strings (> n ln2 / delta^2), ceil(log2 t) = {math.ceil(math.log2(t))} bits of index + "
            f"{k + 1} bits: {want} bits at error 1/4 + 1/12 = 1/3, against D(EQ_64) = 65")


# -- 02 ------------------------------------------------------------------------------------------------------------
def _dyck_oneway(answer: Any) -> str:
    from ccbounds.models.constructions.dyck import dyck_dfa

    try:
        message, bob = answer
    except (TypeError, ValueError):
        raise _Wrong("give the pair (message, bob) of functions") from None
    dfa = dyck_dfa()
    words = list(itertools.product(range(4), repeat=4))
    msgs = {}
    for u in words:
        m = _call(message, u)
        if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < 8:
            raise _Wrong(f"message({u}) = {m!r}: a 3-bit message is an int in range(8)")
        msgs[u] = m
    for u in words:
        for v in words:
            want = int(dfa.accepts([dfa.symbols[s] for s in u + v]))
            got = _call(bob, msgs[u], v)
            if got != want:
                raise _Wrong(f"u = {u}, v = {v}: Bob answers {got!r}, the recognizer {want} (tokens 0..3 are "
                             "'(' ')' '[' ']')")
    return (f"Bob is right on all {len(words) ** 2} splits with {len(set(msgs.values()))} distinct 3-bit messages: "
            "the 21-unit RNN needs only its DFA state across a prefix cut")


def _eq_dyck_gadget(encode: Any) -> str:
    from ccbounds.models.constructions.dyck import dyck_dfa

    n = 3
    dfa = dyck_dfa(1)
    xs = _bits(n)
    seqs = {}
    for x in xs:
        for y in xs:
            s = _call(encode, x, y)
            try:
                s = tuple(int(t) for t in s)
            except (TypeError, ValueError):
                raise _Wrong(f"encode({x}, {y}) = {s!r}: return a sequence of token ids 0..3") from None
            if len(s) != 2 * n or any(not 0 <= t < 4 for t in s):
                raise _Wrong(f"encode({x}, {y}) = {s}: 2n = {2 * n} tokens in 0..3 ('(' ')' '[' ']')")
            seqs[x, y] = s
            if dfa.accepts([dfa.symbols[t] for t in s]) != (x == y):
                raise _Wrong(f"x = {x}, y = {y}: the string is {'' if x != y else 'not '}in Dyck-(2,1) but EQ = "
                             f"{int(x == y)}")
    for p in range(2 * n):
        alice = all(seqs[x, y][p] == seqs[x, xs[0]][p] for x in xs for y in xs)
        bob = all(seqs[x, y][p] == seqs[xs[0], y][p] for x in xs for y in xs)
        if not (alice or bob):
            raise _Wrong(f"position {p} depends on both x and y: a gadget gives every position one owner")
    return f"all {len(seqs)} pairs: in Dyck-(2,1) iff x = y, and every position depends on one player only"


# -- 03 ------------------------------------------------------------------------------------------------------------
def _index_message(answer: Any, n: int = 4, bits: int = 3) -> tuple[float, float, list[float]]:
    """(L = sum_i (1 - H2(eps_i)), H(M), [eps_i]) of a message of ``bits`` bits for INDEX_n, x uniform, exactly."""
    try:
        message, guess = answer
    except (TypeError, ValueError):
        raise _Wrong("give the pair (message, guess) of functions") from None
    xs = _bits(n)
    msgs = {}
    for x in xs:
        m = _call(message, x)
        if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < 2**bits:
            raise _Wrong(f"message({x}) = {m!r}: a {bits}-bit message is an int in range({2 ** bits})")
        msgs[x] = m
    errs = []
    for i in range(n):
        wrong = sum(_call(guess, msgs[x], i) != x[i] for x in xs)
        errs.append(wrong / len(xs))
    counts: dict[int, int] = {}
    for m in msgs.values():
        counts[m] = counts.get(m, 0) + 1
    H = -sum(c / len(xs) * math.log2(c / len(xs)) for c in counts.values())
    return sum(1 - _h2(min(e, 0.5)) for e in errs), H, errs


def _index_tight(answer: Any) -> str:
    L, H, errs = _index_message(answer)
    if L < 3 - 1e-9:
        raise _Wrong(f"errors per index {errs}: L = sum(1 - H2(eps_i)) = {L:.4f} < 3 bits (hint: spend the 3 bits on "
                     "3 coordinates)")
    return (f"errors {errs}: L = {L:.4f} bits <= I(M;X) = H(M) = {H:.4f} <= S*b = 3 bits — every inequality of the "
            "certificate is tight")


def _pigeonhole(K: Any) -> str:
    S, b = 2, 3
    want = 2 ** (S * b) + 1
    if not isinstance(K, int) or isinstance(K, bool) or K != want:
        raise _Wrong(f"{K!r} is not it: count the messages of S*b = {S * b} bits and add one")
    return f"2^(S*b) = {2 ** (S * b)} messages, so {want} distinct inputs force two to share one (pigeonhole)"


# -- 04 ------------------------------------------------------------------------------------------------------------
def _index8_protocol(answer: Any) -> str:
    from ccbounds.information import H2_inv

    n, bits = 8, 4
    _, _, errs = _index_message(answer, n=n, bits=bits)
    acc = 1 - sum(errs) / n
    ceiling = 1 - float(H2_inv(1 - bits / n))
    if acc > ceiling + 1e-12:  # impossible by the theorem: a bug in this checker
        raise _Wrong(f"accuracy {acc} above the ceiling {ceiling}: impossible, please report")
    if acc < 0.75 - 1e-12:
        raise _Wrong(f"accuracy {acc:.4f} under mu; sending 4 bits of x already gives 0.75")
    return (f"accuracy {acc:.4f} under mu (x uniform, every index), below the ceiling {ceiling:.4f} for "
            "S*b/n = 1/2, as the theorem says it must be")


def _jensen(eps: Any) -> str:
    try:
        e = [float(v) for v in eps]
    except (TypeError, ValueError):
        raise _Wrong("give a list of 4 error rates") from None
    if len(e) != 4 or any(not 0 <= v <= 0.5 for v in e):
        raise _Wrong("give 4 error rates in [0, 1/2]")
    if abs(sum(e) / 4 - 0.25) > 1e-12:
        raise _Wrong(f"their average is {sum(e) / 4:g}, not 1/4")
    per = sum(1 - _h2(v) for v in e)
    avg = 4 * (1 - _h2(0.25))
    if per <= avg + 1e-12:
        raise _Wrong(f"sum(1 - H2(eps_i)) = {per:.4f} = n(1 - H2(1/4)): equal errors give equality in Jensen's "
                     "inequality; make them unequal")
    return (f"sum(1 - H2(eps_i)) = {per:.4f} > n(1 - H2(1/4)) = {avg:.4f}: H2 is strictly concave, so the bound "
            "from the average error is the weaker one, and equality needs equal errors")


# -- 05 ------------------------------------------------------------------------------------------------------------
def _ip_discrepancy_exact(n: int) -> float:
    """max over rectangles A x B of |sum (-1)^IP| / 4^n: every A, the best B in closed form (columns of one sign)."""
    import numpy as np

    from ccbounds.problems import IP

    S = 1.0 - 2.0 * IP(n).matrix()  # (-1)^f, (2^n, 2^n)
    R = S.shape[0]
    masks = ((np.arange(1, 2**R)[:, None] >> np.arange(R)) & 1).astype(float)  # every non-empty A
    col = masks @ S  # column sums over A
    best = np.maximum(np.where(col > 0, col, 0).sum(1), -np.where(col < 0, col, 0).sum(1))
    return float(best.max()) / (R * S.shape[1])


def _ip3_rectangle(answer: Any) -> str:
    import numpy as np

    from ccbounds.problems import IP

    try:
        rows, cols = (sorted({int(i) for i in part}) for part in answer)
    except (TypeError, ValueError):
        raise _Wrong("give (rows, columns): two lists of indices 0..7") from None
    if not rows or not cols or min(rows + cols) < 0 or max(rows + cols) > 7:
        raise _Wrong("rows and columns must be non-empty lists of indices 0..7")
    S = 1.0 - 2.0 * IP(3).matrix()
    d = abs(float(S[np.ix_(rows, cols)].sum())) / 64
    best = _ip_discrepancy_exact(3)
    lindsey = math.sqrt(len(rows) * len(cols) * 8) / 64
    if d < best - 1e-12:
        raise _Wrong(f"|mu(R ∩ f=1) - mu(R ∩ f=0)| = {d:.6f} for this rectangle; a larger one exists "
                     f"(Lindsey allows this shape up to sqrt(|A||B|2^n)/4^n = {lindsey:.4f})")
    return (f"discrepancy {d:.6f} = disc_uniform(IP_3), the largest over all rectangles; Lindsey's bound for "
            f"this shape is {lindsey:.4f} and 2^(-3/2) = {2 ** -1.5:.4f} overall")


def _and_low_information(answer: Any) -> str:
    from ccbounds.information.protocol_information import AND_HARD_DISTRIBUTION, IC_AND_BITS, information_cost
    from ccbounds.protocols import ProtocolTree

    try:
        tree, ca, cb = answer
    except (TypeError, ValueError):
        raise _Wrong("give (tree, alice_coins, bob_coins); coins may be None") from None
    if not isinstance(tree, ProtocolTree):
        raise _Wrong(f"expected a ProtocolTree, got {type(tree).__name__}")
    for x, y in itertools.product((0, 1), repeat=2):
        for ra in (ca or {None: 1}):
            for rb in (cb or {None: 1}):
                out = _call(tree.output, x if ca is None else (x, ra), y if cb is None else (y, rb))
                if out != (x & y):
                    raise _Wrong(f"not zero-error: on x = {x}, y = {y}, coins {ra}, {rb} it answers {out!r}")
    try:
        c = information_cost(tree, AND_HARD_DISTRIBUTION, alice_coins=ca, bob_coins=cb)
    except InvalidInputError as e:
        raise _Wrong(str(e)) from None
    if c.internal_bits >= 1.5:
        raise _Wrong(f"zero-error, but IC_int = {c.internal_bits:.4f} >= 1.5 bits under mu* (the 2-bit protocol has "
                     "1.5455): let the players reveal their 0s gradually (a buzzer with more steps)")
    return (f"zero-error with IC_int = {c.internal_bits:.4f} bits under mu*, within "
            f"{c.internal_bits - IC_AND_BITS:.4f} of IC(AND, 0) ≈ {IC_AND_BITS}, using up to {c.cost} bits")


def _index4_oneway(answer: Any) -> str:
    """05.3: a message function for INDEX_4 with at most 8 values and error <= 1/8 under uniform x and i."""
    if not callable(answer):
        raise _Wrong("give a function message(x) of x in {0,1}^4 (a tuple of 4 bits) returning a label")
    classes: dict[Any, list[tuple[int, ...]]] = {}
    for x in _bits(4):
        m = _call(answer, x)
        try:
            hash(m)
        except TypeError:
            raise _Wrong(f"message({x}) = {m!r} is not hashable; return an int or a tuple") from None
        classes.setdefault(m, []).append(x)
    # Bob's best answer to (class, i) is the majority of x_i in the class; the minority errs
    errs = sum(min(sum(x[i] for x in xs), len(xs) - sum(x[i] for x in xs)) for xs in classes.values()
               for i in range(4))
    err = errs / 64
    if len(classes) > 8:
        raise _Wrong(f"{len(classes)} distinct messages need {math.ceil(math.log2(len(classes)))} bits; at most 8 "
                     "(3 bits) allowed")
    if errs > 8:
        raise _Wrong(f"with {len(classes)} messages Bob's best answers still err on {errs}/64 of (x, i) = {err:.4f}"
                     " > 1/8: make the messages tell Bob more of the bits he will be asked")
    bits = math.ceil(math.log2(len(classes))) if len(classes) > 1 else 0
    knr = (1 - _h2(err)) * 4
    return (f"{len(classes)} messages ({bits} bits) with error {errs}/64 = {err:.4f} <= 1/8 under mu; [KNR] "
            f"(1 - H2(eps)) n at eps = {err:.4f} is {knr:.3f} bits, so no message of fewer than "
            f"{math.ceil(knr - 1e-12)} bits has this error")


def _razborov3_mu() -> tuple[list[list[int]], list[list[Any]]]:
    """DISJ_3 on singletons {i}: Razborov's mu at l = 1 (3/4 on disjoint pairs, 1/4 on pairs meeting once)."""
    from fractions import Fraction

    disj = [[int(i != j) for j in range(3)] for i in range(3)]
    mu = [[Fraction(1, 8) if i != j else Fraction(1, 12) for j in range(3)] for i in range(3)]
    return disj, mu


def _razborov_rectangle(answer: Any) -> str:
    """05.4: a rectangle of DISJ_3 on singletons maximising mu(R ∩ f=1) - 2 mu(R ∩ f=0) under Razborov's mu."""
    from fractions import Fraction

    try:
        rows, cols = (sorted({int(i) for i in part}) for part in answer)
    except (TypeError, ValueError):
        raise _Wrong("give (rows, columns): two lists of elements 0..2 (row i is Alice's set {i})") from None
    if not rows or not cols or min(rows + cols) < 0 or max(rows + cols) > 2:
        raise _Wrong("rows and columns must be non-empty lists of elements 0..2")
    f, mu = _razborov3_mu()

    def value(rs: list[int], cs: list[int]) -> Fraction:
        return sum((mu[i][j] * (1 if f[i][j] == 1 else -2) for i in rs for j in cs), Fraction(0))

    subsets = [[i for i in range(3) if m >> i & 1] for m in range(1, 8)]
    W = max(value(a, b) for a in subsets for b in subsets)
    v = value(rows, cols)
    if v < W:
        raise _Wrong(f"mu(R ∩ f=1) - 2 mu(R ∩ f=0) = {v} here; some rectangle reaches more (a 1-rectangle "
                     "avoids the diagonal, where the sets meet)")
    bound = math.log2((Fraction(3, 4) - 2 * Fraction(1, 10)) / W)
    return (f"W = {W}, the largest over all 49 rectangles: at eps = 1/10 the corruption bound is "
            f"log2((3/4 - 2 eps)/W) = {bound:.4f} bits for DISJ_3 under this mu")


#: exercise id -> (what it asks, checker returning the reason when right or raising _Wrong)
EXERCISES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "01.5": ("a depth-3 protocol tree for GT_2 built with ProtocolTree.from_nested", _gt2_tree),
    "01.6": ("a combined fooling set of GT_3 proving D(GT_3) >= 4 = n + 1 (row, column index pairs)",
             _gt3_fooling),
    "01.7": ("Newman's private-coin cost for EQ_64 from the k = 2 public-coin protocol, delta = 1/12 (bits)",
             _newman_cost),
    "02.5": ("a 3-bit one-way protocol (message, bob) for the Dyck recognizer cut after 4 brackets", _dyck_oneway),
    "02.6": ("a gadget encode(x, y) of EQ_3 into Dyck-(2,1), theory §5", _eq_dyck_gadget),
    "03.5": ("a 3-bit message and Bob's guess for INDEX_4 with certificate L = 3 bits (tight)", _index_tight),
    "03.6": ("the number of distinct inputs that forces a collision at S = 2, b = 3", _pigeonhole),
    "04.4": ("a 4-bit protocol (message, guess) for INDEX_8 with accuracy >= 0.75 under mu", _index8_protocol),
    "04.5": ("4 per-index errors averaging 1/4 whose certificate beats n(1 - H2(1/4))", _jensen),
    "05.1": ("a rectangle (rows, columns) of IP_3 of largest discrepancy under the uniform distribution",
             _ip3_rectangle),
    "05.2": ("a zero-error protocol (tree, alice_coins, bob_coins) for AND with IC_int < 1.5 bits under mu*",
             _and_low_information),
    "05.3": ("a message function for INDEX_4 with at most 8 messages and error <= 1/8 under uniform x and i",
             _index4_oneway),
    "05.4": ("a rectangle of DISJ_3 on singletons with the largest mu(R ∩ f=1) - 2 mu(R ∩ f=0), Razborov's mu",
             _razborov_rectangle),
}


def check(exercise: str, answer: Any) -> CheckResult:
    """Check ``answer`` to ``exercise``; the result says right or wrong, and why.

    Parameters
    ----------
    exercise : str
        An id of :data:`EXERCISES`, e.g. ``"01.5"``.
    answer : object
        What the exercise asks for; ``None`` means not answered yet.

    Returns
    -------
    CheckResult

    Raises
    ------
    UnknownNameError
        For an unknown exercise id (the message lists the valid ones).
    """
    if exercise not in EXERCISES:
        raise UnknownNameError(f"no exercise {exercise!r}; valid: {sorted(EXERCISES)}")
    what, checker = EXERCISES[exercise]
    if answer is None:
        return CheckResult(exercise, False, f"no answer yet: fill in the answer cell ({what})")
    try:
        return CheckResult(exercise, True, checker(answer))
    except _Wrong as e:
        return CheckResult(exercise, False, str(e))


def strip_solutions(source: str | Path, out_dir: str | Path) -> list[Path]:
    """Write copies of the notebooks in ``source`` without their ``solution`` cells and without outputs.

    Parameters
    ----------
    source : path
        A notebook file or a directory of ``*.ipynb`` files.
    out_dir : path
        Created if missing; existing files of the same names are overwritten.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    InvalidInputError
        When ``source`` holds no notebooks, or one is not valid notebook JSON.
    """
    src = Path(source)
    files = sorted(src.glob("*.ipynb")) if src.is_dir() else [src] if src.suffix == ".ipynb" else []
    if not files:
        raise InvalidInputError(f"no notebooks (*.ipynb) in {src}; pass the notebooks directory")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        try:
            nb = json.loads(f.read_text(encoding="utf-8"))
            cells = nb["cells"]
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(f"{f} is not a notebook ({e}); pass .ipynb files") from None
        kept = []
        for c in cells:
            if SOLUTION_TAG in c.get("metadata", {}).get("tags", []):
                continue
            if c.get("cell_type") == "code":
                c = dict(c, outputs=[], execution_count=None)
            kept.append(c)
        nb["cells"] = kept
        target = out / f.name
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written
