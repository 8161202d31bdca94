"""Sequence tasks a model is trained on (DESIGN step 2; theory §5), and their registry.

Each task fixes a token layout (overridable), a sequence length, labels computed directly from its
definition, an exactly documented seeded sampler and, for tiny n, the list of all its sequences.

========================  ===========================  =====================================
name                      class                        sequence (default ids)
========================  ===========================  =====================================
``"index-lookup"``        :class:`IndexLookup`         x_0..x_{n-1} I_i  (I_i = q+i)
``"eq"``, ``"disj"``, ...  :mod:`~ccbounds.tasks.strings`  x SEP y END  (SEP=2, END=3): one task
                          (:class:`StringEquality`, ...)  per problem on two n-bit strings
``"dyck"``                :class:`BoundedDyck`         brackets ( ) [ ] = 0 1 2 3, END=4
``"nn"``                  :class:`NearestNeighbour`    float rows [vector | label | is-query]
========================  ===========================  =====================================

Examples
--------
>>> t = get_task("eq", 2)
>>> t.label([0, 1, 2, 0, 1, 3])
1
>>> task_from_dict(t.to_dict()) == t
True
"""

from __future__ import annotations

from typing import Any

from ccbounds.errors import InvalidInputError, UnknownNameError
from ccbounds.tasks import strings as _strings
from ccbounds.tasks.base import MAX_ALL_SEQUENCES, TASKS, Task
from ccbounds.tasks.dyck import BoundedDyck
from ccbounds.tasks.index_lookup import IndexLookup
from ccbounds.tasks.nearest import NearestNeighbour
from ccbounds.tasks.strings import *  # noqa: F403 (the x SEP y END tasks, one per problem on two strings)

__all__ = [
    "Task",
    "IndexLookup",
    "BoundedDyck",
    "NearestNeighbour",
    "TASKS",
    "TOKEN_TASKS",
    "get_task",
    "task_from_dict",
    "list_tasks",
    "MAX_ALL_SEQUENCES",
]
__all__ += _strings.__all__

#: names of the tasks whose inputs are token ids (what ``ccbounds train`` trains on), sorted
TOKEN_TASKS: tuple[str, ...] = tuple(sorted(name for name, cls in TASKS.items() if cls.token_inputs))


def list_tasks() -> list[str]:
    """The registered task names, sorted.

    Examples
    --------
    >>> list_tasks()[:3], "index-lookup" in list_tasks()
    (['disj', 'dyck', 'eq'], True)
    """
    return sorted(TASKS)


def get_task(name: str, n: int, **kw: Any) -> Task:
    """Build a task by registry name.

    Parameters
    ----------
    name : str
        One of :func:`list_tasks`.
    n : int
        Size parameter.
    **kw
        Constructor keywords of the task class (``q``, ``depth``, ``tokens``, ``vocab_size``, ...).

    Returns
    -------
    Task

    Raises
    ------
    UnknownNameError
        Unknown name; the message lists the valid ones.
    InvalidInputError
        A keyword the task does not take, or a bad value.

    Examples
    --------
    >>> get_task("dyck", 2, depth=1).seq_len
    5
    """
    if name not in TASKS:
        raise UnknownNameError(f"unknown task {name!r}; valid names are {list_tasks()}")
    cls = TASKS[name]
    try:
        return cls(n, **kw)  # type: ignore[call-arg]
    except TypeError as e:
        raise InvalidInputError(f"task {name!r} does not take these parameters ({e}); see "
                                f"help({cls.__name__})") from None


def task_from_dict(d: dict[str, Any]) -> Task:
    """Rebuild a task from :meth:`Task.to_dict` output (e.g. checkpoint metadata).

    Raises
    ------
    InvalidInputError
        If ``d`` lacks ``"task"`` or ``"n"``.

    Examples
    --------
    >>> task_from_dict({"task": "index-lookup", "n": 3, "q": 2}).vocab_size
    5
    """
    if not isinstance(d, dict) or "task" not in d or "n" not in d:
        raise InvalidInputError(f"a task dict needs keys 'task' and 'n' (from Task.to_dict()), got {d!r}")
    rest = {k: v for k, v in d.items() if k not in ("task", "n")}
    return get_task(d["task"], d["n"], **rest)
