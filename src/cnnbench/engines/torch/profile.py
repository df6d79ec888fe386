"""Per-module profiling of the torch engine with ``torch.profiler``.

Every leaf module (one without child modules: Conv2d, BatchNorm2d, ReLU, Linear, pooling, ...)
gets a forward pre-hook that opens a ``record_function`` range named after its module path and a
forward hook that closes it; each profiled call runs inside a range of its own. The engine never
reads a clock: the times are the profiler's (``cpu_time_total`` of a module's range, in
microseconds), and the ATen operators recorded under a module's range give its ``kernel`` (the
operator with the most self time, e.g. ``aten::mkldnn_convolution``).

Eager torch runs every module as written, so BatchNorm is a layer of its own (nothing folds it).
Operators that a non-leaf module runs in its own ``forward`` (a residual ``+``, ``torch.flatten``)
belong to no leaf module and are not reported here. A leaf module called several times in one
call is one :class:`EngineLayer` with ``calls`` > 1, its time summed, at its first position.

On CUDA the hooks synchronise the device on opening and closing each range, so a range covers the
module's device work (at the cost of the overlap between launches, which profiling gives up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cnnbench.engines.base import Around, EngineLayer, call_with
from cnnbench.errors import Unsupported

_CALL = "cnnbench.call::"
_LAYER = "cnnbench.layer::"


def leaf_modules(module: Any) -> list[tuple[str, Any]]:
    """``(path, module)`` for every module without children, in registration order."""
    return [(path, m) for path, m in module.named_modules() if next(m.children(), None) is None]


def profile_module(
    torch: Any,
    module: Any,
    run: Callable[[], object],
    calls: int,
    sync: Callable[[], None] | None = None,
    around: Around | None = None,
) -> list[list[EngineLayer]]:
    """``calls`` calls of ``run`` (which calls ``module``) under ``torch.profiler``; one list of
    leaf-module layers per call, in execution order. ``sync`` (CUDA) waits for the device;
    ``around`` makes each call (with its range and hooks, so a wrapper that times it sees the
    profiler's own cost)."""
    if calls < 1:
        raise ValueError("calls must be at least 1")
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    leaves = leaf_modules(module)
    if not leaves:
        raise Unsupported("the module has no leaf modules to profile")
    open_ranges: list[Any] = []

    def opener(name: str) -> Callable[..., None]:
        def pre_hook(_module: Any, _args: Any) -> None:
            if sync is not None:
                sync()
            rf = record_function(name)
            rf.__enter__()
            open_ranges.append(rf)

        return pre_hook

    def post_hook(_module: Any, _args: Any, _output: Any) -> None:
        if sync is not None:
            sync()
        if open_ranges:
            open_ranges.pop().__exit__(None, None, None)

    names: dict[str, tuple[str, str]] = {}  # range name -> (module path, class name)
    handles = []
    for path, leaf in leaves:
        label = path or type(leaf).__name__  # the root itself when it is a leaf
        range_name = _LAYER + label
        names[range_name] = (label, type(leaf).__name__)
        handles.append(leaf.register_forward_pre_hook(opener(range_name)))
        handles.append(leaf.register_forward_hook(post_hook, always_call=True))
    activities = [ProfilerActivity.CPU]
    if sync is not None:
        activities.append(ProfilerActivity.CUDA)
    try:
        with profile(activities=activities, record_shapes=False) as prof:
            for i in range(calls):

                def one(i: int = i) -> None:
                    with record_function(f"{_CALL}{i}"):
                        run()
                        if sync is not None:
                            sync()

                call_with(around, one)
    finally:
        while open_ranges:  # a module raised: close what its hooks opened
            open_ranges.pop().__exit__(None, None, None)
        for handle in handles:
            handle.remove()
    return _per_call(prof.events(), names, calls)


def _per_call(
    events: Any, names: dict[str, tuple[str, str]], calls: int
) -> list[list[EngineLayer]]:
    roots = {e.name: e for e in events if e.name.startswith(_CALL)}
    result: list[list[EngineLayer]] = []
    for i in range(calls):
        call = roots.get(f"{_CALL}{i}")
        if call is None:
            raise RuntimeError(f"torch.profiler recorded no range for profiled call {i}")
        layers: dict[str, dict[str, Any]] = {}
        for event in _module_ranges(call, names):
            path, op_type = names[event.name]
            ops = _self_times(event)
            entry = layers.setdefault(
                path, {"op_type": op_type, "time": 0.0, "calls": 0, "ops": {}}
            )
            entry["time"] += float(event.cpu_time_total)
            entry["calls"] += 1
            for op, t in ops.items():
                entry["ops"][op] = entry["ops"].get(op, 0.0) + t
        result.append(
            [
                EngineLayer(
                    name=path,
                    op_type=e["op_type"],
                    time_us=e["time"],
                    source_layers=(path,),
                    kernel=_kernel(e["ops"]),
                    calls=e["calls"],
                )
                for path, e in layers.items()
            ]
        )
    return result


# ATen operators that only re-describe or allocate tensors: never a layer's kernel, even when
# timer jitter gives one of them the most self time in a tiny layer.
_BOOKKEEPING_OPS = frozenset(
    {
        "aten::view",
        "aten::reshape",
        "aten::_reshape_alias",
        "aten::as_strided",
        "aten::empty",
        "aten::empty_strided",
        "aten::expand",
        "aten::t",
        "aten::transpose",
        "aten::permute",
        "aten::contiguous",
        "aten::detach",
        "aten::resolve_conj",
        "aten::resolve_neg",
    }
)


def _kernel(ops: dict[str, float]) -> str | None:
    """The operator with the most self time, bookkeeping operators set aside unless they are
    all the module ran."""
    work = {op: t for op, t in ops.items() if op not in _BOOKKEEPING_OPS} or ops
    return max(work, key=lambda op: work[op]) if work else None


def _module_ranges(event: Any, names: dict[str, tuple[str, str]]) -> Iterator[Any]:
    """The module ranges under ``event``, in start order (not descending into one)."""
    for child in sorted(event.cpu_children, key=lambda e: e.time_range.start):
        if child.name in names:
            yield child
        else:
            yield from _module_ranges(child, names)


def _self_times(event: Any) -> dict[str, float]:
    """Self CPU time (us) by operator name over every operator under ``event``."""
    times: dict[str, float] = {}
    stack = list(event.cpu_children)
    while stack:
        e = stack.pop()
        if not e.name.startswith(("cnnbench.", "cnnbench::")):
            times[e.name] = times.get(e.name, 0.0) + float(e.self_cpu_time_total)
        stack.extend(e.cpu_children)
    return times
