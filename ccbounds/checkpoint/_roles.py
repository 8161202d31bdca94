"""Assigning the modules of a foreign state_dict to the roles of a reference model, by shape.

A state_dict is grouped into *units*: a module (the tensors ``m.weight`` / ``m.bias`` share the unit
``m``) or a bare parameter (``pos_emb``). Each role of the reference model (token embedding,
readout, a LayerNorm, ...) accepts units of certain shapes. :func:`assign` enumerates every way to
give each unit exactly one role (optional roles may stay empty), then breaks ties by, in order: the
task's vocabulary size and class count, name hints (``emb``, ``head``, ...), and the order in which
the modules appear (``norm1`` before ``norm2``). What is still ambiguous is an error that lists
the candidates and names the spec key that resolves it.

Examples
--------
>>> import torch
>>> units = group_units({"emb.weight": torch.zeros(5, 3), "fc.weight": torch.zeros(2, 4), "fc.bias": torch.zeros(2)})
>>> roles = [Role("embedding", embedding(3), spec_key="embedding"), Role("readout", linear(4), spec_key="readout")]
>>> got, ignored = assign(units, roles, arch="lstm")
>>> {r: u.name for r, u in got.items()}, ignored
({'embedding': 'emb', 'readout': 'fc'}, [])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ccbounds.errors import CheckpointError

__all__ = ["Unit", "Role", "group_units", "assign", "embedding", "linear", "norm", "table"]

_SPEC_HELP = 'name the modules with the spec keys "embedding", "position_embedding" and "readout"'


@dataclass(frozen=True)
class Unit:
    """One module (or bare parameter) of a foreign state_dict: its name, tensors by parameter, position."""

    name: str
    tensors: dict[str, Any]
    order: int

    def shapes(self) -> str:
        return ", ".join(f"{self.key(p)} {tuple(t.shape)}" for p, t in self.tensors.items())

    @property
    def main(self) -> Any:
        """The unit's weight (or its bare tensor)."""
        return self.tensors["weight"] if "weight" in self.tensors else self.tensors["tensor"]

    def key(self, param: str) -> str:
        """The foreign state_dict key of one of this unit's tensors."""
        return self.name if param == "tensor" else f"{self.name}.{param}"


@dataclass(frozen=True)
class Role:
    """A slot of the reference model: a name, a shape test, whether it may stay empty, name hints."""

    name: str
    accepts: Callable[[Unit], bool]
    optional: bool = False
    hints: tuple[str, ...] = ()
    spec_key: str | None = None
    after: str | None = None  # this role's unit should appear after that role's unit
    extra: dict[str, Any] = field(default_factory=dict)


def group_units(state_dict: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> list[Unit]:
    """Group tensors into units: ``m.weight``/``m.bias`` -> unit ``m``; other names are their own unit."""
    groups: dict[str, dict[str, Any]] = {}
    for name, t in state_dict.items():
        if name in skip:
            continue
        head, _, last = name.rpartition(".")
        if last in ("weight", "bias"):
            groups.setdefault(head, {})[last] = t
        else:
            groups.setdefault(name, {})["tensor"] = t
    return [Unit(n, d, i) for i, (n, d) in enumerate(groups.items())]


def embedding(cols: int) -> Callable[[Unit], bool]:
    """Accepts an ``nn.Embedding``-like unit: one 2-D ``weight`` with ``cols`` columns, no bias."""
    return lambda u: (set(u.tensors) == {"weight"} and u.tensors["weight"].dim() == 2
                      and u.tensors["weight"].shape[1] == cols)


def table(cols: int) -> Callable[[Unit], bool]:
    """Accepts a position table: an embedding-like unit, or a bare ``(T, cols)`` / ``(1, T, cols)`` tensor."""

    def ok(u: Unit) -> bool:
        if set(u.tensors) == {"tensor"}:
            t = u.tensors["tensor"]
            return (t.dim() == 2 or (t.dim() == 3 and t.shape[0] == 1)) and t.shape[-1] == cols
        return embedding(cols)(u)

    return ok


def linear(cols: int, rows: int | None = None) -> Callable[[Unit], bool]:
    """Accepts an ``nn.Linear``-like unit: a 2-D ``weight`` (rows, cols), optional bias (rows,)."""

    def ok(u: Unit) -> bool:
        w = u.tensors.get("weight")
        if w is None or not set(u.tensors) <= {"weight", "bias"} or w.dim() != 2 or w.shape[1] != cols:
            return False
        if rows is not None and w.shape[0] != rows:
            return False
        b = u.tensors.get("bias")
        return b is None or tuple(b.shape) == (w.shape[0],)

    return ok


def norm(d: int) -> Callable[[Unit], bool]:
    """Accepts an ``nn.LayerNorm(d)``-like unit: weight (d,), optional bias (d,)."""

    def ok(u: Unit) -> bool:
        return (
            "weight" in u.tensors
            and set(u.tensors) <= {"weight", "bias"}
            and all(tuple(t.shape) == (d,) for t in u.tensors.values())
        )

    return ok


def _enumerate(units: list[Unit], roles: list[Role], pinned: dict[str, str]) -> list[dict[str, Unit]]:
    out: list[dict[str, Unit]] = []
    chosen: dict[str, Unit] = {}

    def go(i: int) -> None:
        if i == len(units):
            if all(r.optional or r.name in chosen for r in roles):
                out.append(dict(chosen))
            return
        u = units[i]
        for r in roles:
            if r.name in chosen or not r.accepts(u):
                continue
            if r.name in pinned and pinned[r.name] != u.name:
                continue
            if any(pinned.get(q.name) == u.name for q in roles if q.name != r.name):
                continue
            chosen[r.name] = u
            go(i + 1)
            del chosen[r.name]

    go(0)
    return out


def _narrow(cands: list[dict[str, Unit]], keep: Callable[[dict[str, Unit]], bool]) -> list[dict[str, Unit]]:
    kept = [c for c in cands if keep(c)]
    return kept or cands


def _strip(name: str) -> str:
    for suffix in (".weight", ".bias"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def assign(
    units: list[Unit],
    roles: list[Role],
    *,
    arch: str,
    sizes: dict[str, int] | None = None,
    pinned: dict[str, str] | None = None,
    consistent: Callable[[dict[str, Unit]], bool] | None = None,
) -> tuple[dict[str, Unit], list[str]]:
    """Give every unit exactly one role; see the module docstring for the tie-breaks.

    Parameters
    ----------
    units, roles : lists
        From :func:`group_units` and the reference architecture.
    arch : str
        The inferred architecture, for messages.
    sizes : dict, optional
        role name -> expected number of rows (e.g. the task's vocab size for the embedding); a tie-break.
    pinned : dict, optional
        role name -> unit name fixed by the spec.
    consistent : callable, optional
        A test on a whole assignment (e.g. FFN widths agree).

    Returns
    -------
    (dict, list)
        role name -> unit; the names of units ignored because the spec pinned their role elsewhere.

    Raises
    ------
    CheckpointError
        No assignment (the message lists unplaceable units and empty roles), or several.
    """
    pinned = {k: _strip(v) for k, v in (pinned or {}).items()}
    names = {u.name for u in units}
    for role, unit in pinned.items():
        if unit not in names:
            key = next((r.spec_key for r in roles if r.name == role), role)
            raise CheckpointError(
                f"spec key {key!r} names {unit!r}, which is not a module of the checkpoint; "
                f"the candidates are {sorted(names)}"
            )
    # a unit that fits only roles the spec pinned to other units is ignored (the spec chose)
    ignored = [
        u for u in units
        if u.name not in pinned.values()
        and (fits := [r for r in roles if r.accepts(u)])
        and all(r.name in pinned for r in fits)
    ]
    units = [u for u in units if u not in ignored]
    cands = [c for c in _enumerate(units, roles, pinned) if consistent is None or consistent(c)]
    rivals = {r.name: [u.name for u in units if r.accepts(u)] for r in roles if r.spec_key and r.name not in pinned}
    rivals = {r: us for r, us in rivals.items() if len(us) > 1}
    if not cands and rivals and len(units) > len(roles):
        detail = "; ".join(f"the {r} could be any of {us}" for r, us in rivals.items())
        keys = [r.spec_key for r in roles if r.name in rivals]
        raise CheckpointError(
            f"ambiguous {arch} layout: {detail}; pass the spec key {', '.join(repr(k) for k in keys)} to say "
            "which (the other candidates are then ignored)"
        )
    if not cands:
        stray = [u.shapes() for u in units if not any(r.accepts(u) for r in roles)]
        empty = [r.name for r in roles if not r.optional and not any(r.accepts(u) for u in units)]
        why = []
        if stray:
            why.append(f"tensors that fit no part of it: {'; '.join(stray)}")
        if empty:
            why.append(f"nothing fits its {', '.join(empty)}")
        layout = ", ".join(r.name + ("?" if r.optional else "") for r in roles)
        raise CheckpointError(
            f"cannot map this state_dict onto the ccbounds {arch} reference model ({layout}): "
            f"{'; '.join(why) or 'the module shapes do not fit together'}; only that layout can be audited, "
            "re-export the model without extra modules or pass a spec naming the modules"
        )
    sizes = sizes or {}

    def size_score(c: dict[str, Unit]) -> int:
        return sum(c[r].main.shape[-2] == n for r, n in sizes.items() if r in c)

    top = max(size_score(c) for c in cands)
    cands = [c for c in cands if size_score(c) == top]

    def hint_score(c: dict[str, Unit]) -> int:
        return sum(any(h in c[r.name].name.lower() for h in r.hints) for r in roles if r.name in c)

    best = max(hint_score(c) for c in cands)
    cands = [c for c in cands if hint_score(c) == best]
    cands = _narrow(
        cands, lambda c: all(r.after not in c or r.name not in c or c[r.after].order < c[r.name].order for r in roles)
    )
    if len(cands) == 1:
        return cands[0], [u.name for u in ignored]
    torn = {r.name: sorted({c[r.name].name for c in cands if r.name in c}) for r in roles}
    torn = {r: us for r, us in torn.items() if len(us) > 1}
    detail = "; ".join(f"the {r} could be any of {us}" for r, us in torn.items())
    keys = sorted({r.spec_key for r in roles if r.name in torn and r.spec_key})
    fix = f"pass the spec key{'s' if len(keys) > 1 else ''} {', '.join(repr(k) for k in keys)}" if keys else _SPEC_HELP
    raise CheckpointError(f"ambiguous {arch} layout: {detail}; {fix} to say which")
