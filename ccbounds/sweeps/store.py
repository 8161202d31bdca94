"""The results table of a sweep: one file per finished run, named by the run's key, written atomically.

A results table is a folder ``RESULTS/`` holding ``<key>.parquet`` (or ``<key>.csv``) files, one row
each, and ``logs/<key>.log``. A row is written to a hidden temporary file in the same folder and
moved into place with :func:`os.replace`, which is atomic on POSIX file systems: a reader sees either
no file or the whole row, so a killed sweep loses no finished row and leaves no partial one, and two
sweeps writing the same run cannot interleave (the last complete file wins; both are the same run).
The file name is the key, so a key cannot appear twice. Reading the table concatenates the parts.

Examples
--------
>>> import tempfile
>>> store = ResultsStore(tempfile.mkdtemp(), fmt="csv")
>>> store.write({"key": "00ab", "status": "ok", "accuracy_task": 0.75}, log="trained").name
'00ab.csv'
>>> store.statuses(), store.table()["accuracy_task"].tolist()
({'00ab': 'ok'}, [0.75])
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["FORMATS", "SHIPPED", "ResultsStore", "shipped_results"]

#: results tables shipped with ccbounds (``ccbounds/data/sweeps/NAME``), made by ``ccbounds sweep configs/NAME.toml``
SHIPPED = ("ceiling", "small-cpu")

#: file formats of the parts
FORMATS = ("parquet", "csv")


class ResultsStore:
    """A folder of one-row files keyed by run key (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The folder (created if missing).
    fmt : {"parquet", "csv"} or None
        Format of new parts; None takes the format already in the folder (parquet if empty).

    Raises
    ------
    InvalidInputError
        ``path`` is a file, cannot be created, or holds parts of the other format.
    """

    def __init__(self, path: str | Path, fmt: str | None = None) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InvalidInputError(f"results path {str(self.path)!r} is a file; "
                                    "pass a folder (it is created if missing)")
        try:
            (self.path / "logs").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InvalidInputError(f"cannot create the results folder {str(self.path)!r} ({e.strerror})") from None
        present = {p.suffix[1:] for p in self._parts()}
        if fmt is not None and fmt not in FORMATS:
            raise InvalidInputError(f"unknown results format {fmt!r}; valid ones are {list(FORMATS)}")
        if fmt is not None and present - {fmt}:
            raise InvalidInputError(f"{str(self.path)!r} holds {min(present)} parts; pass --format "
                                    f"{min(present)} or another --results folder")
        self.fmt = fmt or (min(present) if present else "parquet")

    def _parts(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.is_file() and not p.name.startswith(".")
                      and p.suffix[1:] in FORMATS)

    def write(self, row: dict[str, Any], log: str | None = None) -> Path:
        """Write one row (and its log) atomically as ``<row["key"]>.<fmt>``; returns the part's path."""
        import pyarrow as pa

        key = str(row["key"])
        if log is not None:
            self._atomic(self.path / "logs" / f"{key}.log", lambda tmp: tmp.write_text(log))
        table = pa.Table.from_pylist([row])
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            return self._atomic(self.path / f"{key}.parquet", lambda tmp: pq.write_table(table, tmp))
        import pyarrow.csv as pcsv

        return self._atomic(self.path / f"{key}.csv", lambda tmp: pcsv.write_csv(table, tmp))

    @staticmethod
    def _atomic(final: Path, write: Any) -> Path:
        tmp = final.with_name(f".tmp-{final.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}{final.suffix}")
        try:
            write(tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        return final

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict, in key order."""
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            return [pq.read_table(p).to_pylist()[0] for p in self._parts()]
        import pyarrow.csv as pcsv

        out = []
        for p in self._parts():
            opts = pcsv.ConvertOptions(strings_can_be_null=True)
            out.append(pcsv.read_csv(p, convert_options=opts).to_pylist()[0])
        return out

    def statuses(self) -> dict[str, str]:
        """``{key: status}`` of every finished run ("ok" or "error")."""
        return {str(r["key"]): str(r["status"]) for r in self.rows()}

    def table(self) -> Any:
        """The table as a pandas DataFrame: the parts concatenated (columns of every part; missing = NaN)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame(rows) if rows else pd.DataFrame({"key": [], "status": []})

    def log(self, key: str) -> str:
        """The log of run ``key``."""
        p = self.path / "logs" / f"{key}.log"
        if not p.is_file():
            raise InvalidInputError(f"no log for run {key!r} in {str(self.path)!r}")
        return p.read_text()

    def __len__(self) -> int:
        return len(self._parts())

    def __repr__(self) -> str:
        return f"ResultsStore({str(self.path)!r}, fmt={self.fmt!r}, rows={len(self)})"


def shipped_results(name: str) -> Path:
    """The folder of a shipped results table (see :data:`SHIPPED`).

    Examples
    --------
    >>> shipped_results("ceiling").name
    'ceiling'
    """
    if name not in SHIPPED:
        from ccbounds.errors import UnknownNameError

        raise UnknownNameError(f"no shipped sweep results {name!r}; valid names are {list(SHIPPED)}")
    from importlib import resources

    return Path(str(resources.files("ccbounds").joinpath("data", "sweeps", name)))
