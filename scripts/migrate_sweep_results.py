"""Rewrite results folders (default: the shipped ones) so that every row has the one schema of
``ccbounds.sweeps.store.row_schema`` (same values, typed nulls) and the logs live in ``_logs/``.

Usage: python scripts/migrate_sweep_results.py [RESULTS ...]
Afterwards ``pyarrow.dataset.dataset(RESULTS)`` reads each folder as one table.
"""

from __future__ import annotations

import sys

import pyarrow.dataset as ds

from ccbounds.sweeps.store import SHIPPED, ResultsStore, shipped_results


def main(folders: list[str]) -> None:
    for folder in folders or [str(shipped_results(name)) for name in SHIPPED]:
        before = len(ResultsStore(folder))
        changed = ResultsStore(folder).migrate()
        rows = ds.dataset(folder).to_table().num_rows
        print(f"{folder}: {changed} of {before} parts rewritten; pyarrow.dataset reads {rows} rows")
        assert rows == before, (rows, before)


if __name__ == "__main__":
    main(sys.argv[1:])
