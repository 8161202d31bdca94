"""Trace the user's own forward into a straight-line program of aten ops (theory §4.3, step 1).

The forward is traced with ``torch.fx.experimental.proxy_tensor.make_fx`` on fake tensors through
``torch.func.functional_call`` (parameters and buffers become inputs of the program, so they are public
constants); a forward that writes in place into a view of another tensor (``out[:, t] = h``) is traced again
through ``torch.func.functionalize``, which turns each such write into a scatter making a new tensor. oneDNN is
switched off so that ``nn.RNN``/``nn.GRU``/``nn.LSTM`` unroll into their per-step ops. Python loops are
unrolled by tracing. The compiled reduction traces once per sequence length and gets the program for a
second batch size with :func:`rebatch` (one real run of the forward, its ops' sizes logged), tracing again
only where that run's ops differ from the trace's. What cannot be traced this way is refused, with the
reason and what to do:
data-dependent control flow or ``.item()`` (fake tensors have no values), ops with no fake
implementation, and random ops (dropout in training mode): the protocol must be deterministic.

Examples
--------
>>> import torch
>>> from torch import nn
>>> m = nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Linear(12, 2)).eval()
>>> prog = trace_forward(m, seq_len=4, batch=2)
>>> prog.batch, prog.seq_len, prog.output_shape
(2, 4, (2, 2))

The same program for another batch size, from one logged run instead of a second trace:

>>> prog3 = rebatch(prog, m, 3)
>>> prog3.output_shape, [n.target for n in prog3.graph.nodes] == [n.target for n in prog.graph.nodes]
((3, 2), True)
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any

from ccbounds.errors import ReductionNotApplicable

__all__ = ["TracedProgram", "trace_forward", "rebatch", "RANDOM_OPS"]

#: aten ops that draw random numbers: a program that runs one is not a deterministic protocol
RANDOM_OPS = ("bernoulli", "native_dropout", "dropout", "rand", "randn", "randint", "randperm", "normal",
              "uniform", "multinomial", "exponential", "geometric", "cauchy", "log_normal", "poisson")


@dataclass(eq=False)
class TracedProgram:
    """One traced forward: ``graph_module(params, tokens)`` returns the logits tensor.

    ``params`` is the dict of the model's parameters and buffers (by their module paths), in the order
    the placeholders expect; ``tokens`` a LongTensor ``(batch, seq_len)``.
    """

    graph_module: Any
    params: dict
    batch: int
    seq_len: int
    output_shape: tuple
    onednn: bool = False  # whether oneDNN was on for the trace (see trace_forward)
    no_weights: bool = False  # whether nn.MultiheadAttention was asked for no weights (see trace_forward)

    @property
    def graph(self) -> Any:
        return self.graph_module.graph

    def placeholders(self) -> list:
        return [n for n in self.graph.nodes if n.op == "placeholder"]


def _logits(out: Any) -> Any:
    """The logits a forward returned: a tensor, the ``logits`` field, or the first element of a tuple."""
    import torch

    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "logits"):
        return out.logits
    if isinstance(out, dict) and "logits" in out:
        return out["logits"]
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise ReductionNotApplicable(
        f"the model's forward returned {type(out).__name__}; the compiled reduction needs logits (B, C): a tensor, "
        "an object with .logits, or a tuple whose first element is the logits")


def _module_hooks(model: Any, spans: list) -> list:
    """Forward hooks recording, for every submodule call during tracing, the range of graph nodes it made."""
    from torch.fx.experimental.proxy_tensor import get_proxy_mode

    def count() -> int | None:
        mode = get_proxy_mode()
        return len(mode.tracer.graph.nodes) if mode is not None else None

    def pre(name: str) -> Any:
        def hook(module: Any, args: Any) -> None:
            spans.append([name, count(), None])
        return hook

    def post(name: str) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:
            for sp in reversed(spans):
                if sp[0] == name and sp[2] is None:
                    sp[2] = count()
                    break
        return hook

    hooks = []
    for name, mod in model.named_modules():
        if name:
            hooks.append(mod.register_forward_pre_hook(pre(name)))
            hooks.append(mod.register_forward_hook(post(name)))
    return hooks


def _label_modules(gm: Any, spans: list) -> None:
    """``node.meta["module"]``: the innermost submodule (its ``named_modules`` path) whose call made the node."""
    nodes = list(gm.graph.nodes)
    for name, start, end in spans:
        if start is None or end is None:
            continue
        for i in range(start, min(end, len(nodes))):
            nodes[i].meta["module"] = name  # later (inner) spans overwrite earlier (outer) ones


def _math_attention() -> Any:
    """``scaled_dot_product_attention`` (and ``nn.MultiheadAttention``, which calls it) traced as its math form
    (matmul, softmax, matmul) instead of a fused kernel, so the split rules see the softmax (Lemma T)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # pragma: no cover - torch < 2.3: the fused op stays (a sound over-approximation)
        return contextlib.nullcontext()
    return sdpa_kernel([SDPBackend.MATH])


@contextlib.contextmanager
def _mha_without_weights(active: bool, model: Any = None) -> Any:
    """While tracing, the ``nn.MultiheadAttention`` modules of ``model`` called with ``need_weights=False`` (their
    output is the same; the weights they return become None). Each module's own ``forward`` is wrapped on the
    instance, so no other model (or thread) sees the change. The traced program is validated against the real
    forward."""
    from torch import nn

    mods = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)] \
        if active and hasattr(model, "modules") else []
    saved = []
    for m in mods:
        had = "forward" in m.__dict__
        saved.append((m, had, m.__dict__.get("forward")))
        original = m.forward

        def forward(query: Any, key: Any, value: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            if len(args) >= 2:  # (key_padding_mask, need_weights, ...) given by position
                args = (args[0], False, *args[2:])
            else:
                kwargs["need_weights"] = False
            return _original(query, key, value, *args, **kwargs)

        m.forward = forward
    try:
        yield
    finally:
        for m, had, old in saved:
            if had:
                m.forward = old
            else:
                del m.forward


@contextlib.contextmanager
def _quiet_torch_logs() -> Any:
    """Silence torch's fake-tensor error log while tracing (a failed trace is reported as one refusal line)."""
    import logging

    log = logging.getLogger("torch._subclasses.fake_tensor")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def trace_forward(model: Any, seq_len: int, batch: int, *, dtype: Any = None,
                  stack_traces: bool = True) -> TracedProgram:
    """Trace ``model`` on a ``(batch, seq_len)`` token batch into a :class:`TracedProgram`.

    Raises
    ------
    ReductionNotApplicable
        The forward cannot be traced into a straight-line deterministic program (the message says
        why and what to do), or it is in training mode with dropout.
    """
    import torch
    from torch.func import functional_call
    from torch.fx.experimental.proxy_tensor import make_fx

    if getattr(model, "training", False) and any(isinstance(m, torch.nn.Dropout) and m.p > 0
                                                 for m in model.modules()):
        raise ReductionNotApplicable(
            "the model is in training mode with dropout, so its forward is random and no deterministic protocol "
            "reproduces it; call model.eval() first")
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.training]
    if batch_norms:
        raise ReductionNotApplicable(
            f"the model's {type(batch_norms[0]).__name__} is in training mode, so each example's output depends on "
            "the other examples of its batch (batch statistics) and no protocol for one input reproduces it; call "
            "model.eval() first")
    params = {**dict(model.named_parameters(remove_duplicate=False)), **dict(model.named_buffers())}
    if any(p.is_meta for p in params.values()):
        raise ReductionNotApplicable("the model's weights are on the meta device (not loaded); load them first")

    def forward(p: dict, tokens: Any) -> Any:
        return _logits(functional_call(model, p, (tokens,), strict=False))

    device = next(iter(params.values())).device if params else "cpu"
    tokens = torch.zeros((batch, seq_len), dtype=dtype or torch.long, device=device)
    gm = None
    first: Exception | None = None
    spans: list = []
    hooks = _module_hooks(model, spans) if stack_traces else []
    # oneDNN off first (nn.RNN/GRU/LSTM unroll into per-step ops, so the state is a value of the program);
    # if torch cannot trace that decomposition, with oneDNN on (the fused RNN op: its outputs then depend on
    # all of its inputs' positions, a sound over-approximation)
    # nn.MultiheadAttention first without its averaged weights (most forwards discard them): it then calls
    # scaled_dot_product_attention on (batch, heads, T, d) tensors, whose softmax Lemma T's rule splits; a forward
    # that reads the weights fails that trace and is traced as written
    onednn = no_weights = False
    for onednn, no_weights in ((False, True), (False, False), (True, False)):
        try:
            with warnings.catch_warnings(), torch.no_grad(), _quiet_torch_logs():
                warnings.simplefilter("ignore")  # oneDNN's TF32 note when its flags are set
                with torch.backends.mkldnn.flags(enabled=onednn), _math_attention(), \
                        _mha_without_weights(no_weights, model):
                    gm = make_fx(forward, tracing_mode="fake", record_stack_traces=stack_traces,
                                 _allow_non_fake_inputs=True)(params, tokens)
                    if _writes_into_views(gm):  # e.g. out[:, t] = h: traced again without in-place writes
                        spans.clear()
                        gm = make_fx(torch.func.functionalize(forward, remove="mutations"), tracing_mode="fake",
                                     record_stack_traces=stack_traces, _allow_non_fake_inputs=True)(params, tokens)
            break
        except ReductionNotApplicable:
            raise
        except Exception as e:  # noqa: BLE001 - torch raises many kinds here; each becomes one refusal line
            first = first or e
            spans.clear()
    for h in hooks:
        h.remove()
    if gm is not None:
        _label_modules(gm, spans)
    if gm is None:
        e = first
        text = " ".join(str(e).split())[:160]
        hint = ("the forward depends on token values in Python (an if/while on a tensor, .item(), .tolist(), "
                "a data-dependent shape); write it with torch ops (torch.where, masking) so one program serves "
                "every input") if any(w in text.lower() for w in ("data-dependent", "data dependent", "item",
                                                                  "guard", "unbacked", "symbolic")) \
            else "the forward could not be traced by torch.fx make_fx"
        raise ReductionNotApplicable(
            f"cannot trace the model's forward into one program: {hint} ({type(e).__name__}: {text})")
    if any("_local_scalar_dense" in str(n.target) for n in gm.graph.nodes if n.op == "call_function"):
        raise ReductionNotApplicable(
            "cannot trace the model's forward into one program of tensor ops: it reads a tensor's value into Python "
            "(.item(), float(t), int(t)), whose dependence on the tokens the trace cannot follow; keep the value a "
            "tensor (e.g. t.mean() instead of t.mean().item())")
    random_ops = sorted({str(n.target) for n in gm.graph.nodes if n.op == "call_function"
                         and any(r in str(n.target).split(".")[1:2] for r in RANDOM_OPS)})
    if random_ops:
        raise ReductionNotApplicable(
            f"the model's forward draws random numbers ({', '.join(random_ops)}), so no deterministic protocol "
            "reproduces it; call model.eval() or remove the random op")
    out = [n for n in gm.graph.nodes if n.op == "output"][0].args[0]
    while isinstance(out, (list, tuple)) and len(out) == 1:
        out = out[0]
    val = out.meta.get("val") if hasattr(out, "meta") else None
    if val is None or val.dim() != 2 or val.shape[0] != batch:
        shape = tuple(val.shape) if val is not None else "?"
        raise ReductionNotApplicable(
            f"the model's forward returns logits of shape {shape} for a batch of {batch}; the compiled reduction "
            "needs (batch, classes) logits read at the answer position")
    return TracedProgram(gm, params, batch, seq_len, tuple(val.shape), onednn, no_weights)


def _writes_into_views(gm: Any) -> bool:
    """Whether an op of the traced program writes in place into a view of another tensor (``out[:, t] = h``,
    ``x.select(1, 0).add_(1)``): the write changes the base tensor, which the program's data flow does not show,
    so such a program is traced again through ``torch.func.functionalize`` (the write becomes a ``*_scatter`` op
    that makes a new base)."""
    for n in gm.graph.nodes:
        schema = getattr(n.target, "_schema", None)
        if n.op != "call_function" or schema is None or not schema.is_mutable:
            continue
        for arg, a in zip(schema.arguments, n.args):
            if arg.alias_info is not None and arg.alias_info.is_write and hasattr(a, "target"):
                made_by = getattr(a.target, "_schema", None)
                if made_by is not None and any(r.alias_info is not None for r in made_by.returns):
                    return True
    return False


class _Mismatch(Exception):
    pass


def _dispatch_log(model: Any, program: TracedProgram, batch: int, fake: bool = False) -> list | None:
    """Every aten op the model's forward dispatches on a ``(batch, seq_len)`` token batch, real (or fake: no values,
    the trace's own path), in order: (op, args and kwargs with tensors replaced by None, meta-device copies of the
    outputs). None if it fails."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.func import functional_call
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_map

    def meta(t: Any) -> Any:
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta") if isinstance(t, torch.Tensor) \
            else t

    def strip(t: Any) -> Any:
        return None if isinstance(t, torch.Tensor) else t

    calls: list = []

    class Log(TorchDispatchMode):
        ccbounds_tracing = True  # value checks in ccbounds' models are skipped, as in a trace

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if func is torch.ops.prim.device.default:  # a metadata query, which make_fx does not record either
                return out
            calls.append((func, tree_map(strip, args), tree_map(strip, kwargs), tree_map(meta, out)))
            return out

    # buffers copied: a real run must not change them (e.g. batch-norm statistics in training mode); parameters as
    # they are (nn.LSTM takes another path for copies of its flat weights)
    buffers = {k for k, _ in model.named_buffers()}
    params = {k: v.detach().clone() if k in buffers else v for k, v in program.params.items()}
    device = next(iter(params.values())).device if params else "cpu"
    tokens = torch.zeros((batch, program.seq_len), dtype=torch.long, device=device)
    try:
        with warnings.catch_warnings(), torch.no_grad(), torch.backends.mkldnn.flags(enabled=program.onednn), \
                _quiet_torch_logs(), _math_attention(), _mha_without_weights(program.no_weights, model):
            warnings.simplefilter("ignore")
            if fake:
                mode = FakeTensorMode(allow_non_fake_inputs=True)
                params = {k: mode.from_tensor(v) for k, v in params.items()}
                tokens = mode.from_tensor(tokens)
                with mode, Log():
                    _logits(functional_call(model, params, (tokens,), strict=False))
            else:
                with Log():
                    _logits(functional_call(model, params, (tokens,), strict=False))
    except Exception:  # noqa: BLE001 - no log: the caller traces instead
        return None
    return calls


def _merge(a: Any, logged: Any) -> Any:
    """``a`` (a node's argument) with its non-tensor parts taken from ``logged`` (the same argument of the
    same op in another run): nodes stay, numbers and shapes come from the log."""
    import torch.fx as fx

    if isinstance(a, fx.Node):
        if logged is not None:
            raise _Mismatch
        return a
    if isinstance(a, (list, tuple)):
        if not isinstance(logged, (list, tuple)) or len(logged) != len(a):
            raise _Mismatch
        return type(a)(_merge(x, y) for x, y in zip(a, logged))
    if isinstance(a, dict):
        if not isinstance(logged, dict) or set(logged) != set(a):
            raise _Mismatch
        return {k: _merge(a[k], logged[k]) for k in a}
    if logged is None and a is not None or type(logged) is not type(a) and not (
            isinstance(a, (int, float)) and isinstance(logged, (int, float))):
        raise _Mismatch
    return logged


def _same_op(ran: Any, traced: Any) -> bool:
    """Whether an op logged in a run is the traced op (the trace copies a tensor constant where a run lifts it)."""
    import torch

    aten = torch.ops.aten
    return ran == traced or (ran, traced) == (aten.lift_fresh.default, aten.lift_fresh_copy.default)


def _attr_of(program: TracedProgram, node: Any) -> Any:
    obj = program.graph_module
    for part in str(node.target).split("."):
        obj = getattr(obj, part, None)
    return obj


def rebatch(program: TracedProgram, model: Any, batch: int, real: bool = True) -> TracedProgram | None:
    """The same traced program for another batch size, without tracing again: the model's forward is run once
    for real on a ``(batch, seq_len)`` batch under a dispatch mode that logs every op, and each node of
    ``program`` takes the non-tensor arguments (sizes, ...) and output shapes the same op had in that run. The
    ops must be the same, in the same order; None where they are not (or the graph holds tensor constants, or
    the run fails): then trace the model at that batch size instead. ``real=False``: the fake run only (no memory
    for the model's values at that batch size), and tensor constants not sized by the batch are kept (the caller
    checks the program's outputs against the traced one's).
    """
    import operator

    import torch
    import torch.fx as fx

    graph = program.graph
    for n in graph.nodes:  # a tensor constant is kept as it is, unless it may be sized by the batch
        if n.op == "get_attr" and (real or program.batch in tuple(getattr(_attr_of(program, n), "shape", (0,)))):
            return None
    ops = [n for n in graph.nodes if n.op == "call_function" and n.target is not operator.getitem]
    for fake in (False, True) if real else (True,):  # a real run (fast), else a fake one (the trace's path)
        calls = _dispatch_log(model, program, batch, fake)
        if calls is not None and len(calls) == len(ops) and all(_same_op(c[0], n.target) for c, n in zip(calls, ops)):
            break
    else:
        return None
    new = fx.Graph()
    env: dict = {}
    for old in graph.nodes:
        env[old] = new.node_copy(old, lambda n: env[n])  # names, targets and meta (stack traces) kept
    logged = dict(zip(ops, calls))
    tok = program.placeholders()[-1]
    out_val = None
    try:
        for old in graph.nodes:
            node = env[old]
            if old is tok:
                node.meta["val"] = torch.empty((batch, program.seq_len), dtype=torch.long, device="meta")
            elif old in logged:
                _, args, kwargs, val = logged[old]
                node.args = _merge(tuple(node.args), tuple(args))
                node.kwargs = _merge(dict(node.kwargs), dict(kwargs))
                node.meta["val"] = val
            elif old.op == "call_function" and old.target is operator.getitem:
                node.meta["val"] = env[old.args[0]].meta["val"][old.args[1]]
            elif old.op not in ("placeholder", "output", "get_attr"):
                return None
        out = [n for n in new.nodes if n.op == "output"][0].args[0]
        while isinstance(out, (list, tuple)) and len(out) == 1:
            out = out[0]
        out_val = out.meta.get("val") if isinstance(out, fx.Node) else None
    except (_Mismatch, KeyError, IndexError, TypeError):
        return None
    if not isinstance(out_val, torch.Tensor) or out_val.dim() != 2 or out_val.shape[0] != batch:
        return None
    gm = fx.GraphModule(program.graph_module, new)
    return TracedProgram(gm, program.params, batch, program.seq_len, tuple(out_val.shape), program.onednn,
                         program.no_weights)
