"""Auditing a trained model against a communication lower bound (theory §6).

:func:`audit` turns a model into its induced one-way protocol (theory §4), quantizes the message at
several precisions, and reports per precision the accuracy, the certified information L, the message
entropy, the comparison of S*b with D^{A->B}(f), and collision witnesses, in an :class:`AuditReport`.

* :mod:`~ccbounds.auditing.runner` -- :func:`audit` (streaming over batches of Alice inputs);
* :mod:`~ccbounds.auditing.sampling` -- the query distribution mu (:class:`QueryPlan`);
* :mod:`~ccbounds.auditing.summary` -- rows, verdicts and predicted limits;
* :mod:`~ccbounds.auditing.witnesses` -- :class:`CollisionWitness`;
* :mod:`~ccbounds.auditing.report` -- :class:`AuditRow`, :class:`AuditReport`, :func:`row_verdict`;
* :mod:`~ccbounds.auditing.checkpoints` -- :func:`audit_checkpoint` (a file or bundled example);
* :mod:`~ccbounds.auditing.plot` -- :func:`plot_report` (matplotlib, imported lazily).

A model that passes every check is "not ruled out" -- never "proven able to solve the task".

Examples
--------
>>> from ccbounds.auditing import row_verdict
>>> row_verdict(message_bits=4, lower_bound_bits=8)[0]
'below bound'
"""

from __future__ import annotations

from ccbounds.auditing.checkpoints import audit_checkpoint, problem_for_task
from ccbounds.auditing.report import EXIT_VIOLATION, VERDICTS, AuditReport, AuditRow, row_verdict
from ccbounds.auditing.runner import audit
from ccbounds.auditing.sampling import QueryPlan
from ccbounds.auditing.witnesses import CollisionWitness
from ccbounds.quantize.precision import parse_precisions

__all__ = ["audit", "audit_checkpoint", "problem_for_task", "AuditReport", "AuditRow", "CollisionWitness", "QueryPlan",
           "row_verdict",
           "parse_precisions", "VERDICTS", "EXIT_VIOLATION"]
