"""The results table of a sweep: one file per finished run, named by the run's key, written atomically.

A results table is a folder ``RESULTS/`` holding ``<key>.parquet`` (or ``<key>.csv``) files, one row
each, and ``_logs/<key>.log``. A row is written to a hidden temporary file in the same folder and
moved into place with :func:`os.replace`, which is atomic on POSIX file systems: a reader sees either
no file or the whole row, so a killed sweep loses no finished row and leaves no partial one, and two
sweeps writing the same run cannot interleave (the last complete file wins; both are the same run).
The file name is the key, so a key cannot appear twice. Reading the table concatenates the parts.

The folder is one Parquet dataset: every row is written with the same columns and types
(:func:`row_schema`: the fixed columns, then four per audited precision; a value a run did not
produce is a typed null), and everything that is not a row lives under a name starting with ``_``
(``_logs/``, ``_damaged/``), which dataset readers skip. So ``pyarrow.dataset.dataset(RESULTS)``,
``pandas.read_parquet(RESULTS)``, DuckDB's ``read_parquet('RESULTS/*.parquet')`` and polars read it as
one table. A part that cannot be read, or has no ``status``, is moved to ``_damaged/`` with a warning
and its run counts as not done, so the next ``ccbounds sweep`` redoes it. Files of the other format than
the folder's (a stray ``notes.csv`` among Parquet parts) are not parts: they are left alone.
:meth:`ResultsStore.compact` writes the whole table as one Parquet file.

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

import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Any

from ccbounds.errors import InvalidInputError

__all__ = ["FORMATS", "SHIPPED", "ResultsStore", "shipped_results", "row_schema", "LOGS", "DAMAGED"]

#: where the run logs and the parts that could not be read go (names starting with "_": not dataset files)
LOGS, DAMAGED = "_logs", "_damaged"

#: the fixed columns of a row, in order, with their Arrow type names (train fields between "command" and
#: "precisions"; the per-precision columns go before "status")
_HEAD = (("key", "string"), ("sweep", "string"), ("command", "string"), ("arch", "string"), ("task", "string"),
         ("n", "int64"), ("width", "int64"), ("steps", "int64"), ("seed", "int64"), ("batch_size", "int64"),
         ("lr", "float64"), ("clip", "float64"), ("schedule", "string"), ("eval_size", "int64"),
         ("layers", "int64"), ("heads", "int64"), ("q", "int64"), ("negatives", "string"),
         ("precisions", "string"), ("audit_samples", "int64"), ("device", "string"), ("host", "string"),
         ("versions", "string"), ("train_time_s", "float64"), ("accuracy_task", "float64"),
         ("final_loss", "float64"), ("problem", "string"), ("lower_bound_bits", "float64"),
         ("audit_time_s", "float64"), ("reduction", "string"), ("lemma", "string"), ("scalars", "int64"),
         ("refused", "string"), ("accuracy_mu", "float64"), ("protocol_mismatches", "int64"),
         ("verdict", "string"))
_TAIL = (("status", "string"), ("error", "string"), ("record", "string"), ("wall_time_s", "float64"))
#: the columns of each audited precision LABEL: ``bits_LABEL``, ...
_PER_PRECISION = (("bits_", "int64"), ("accuracy_", "float64"), ("L_cert_", "float64"), ("verdict_", "string"))


def _labels(precisions: Any) -> list[str]:
    """The labels (fixed1, fp16, fp32, ...) of a row's ``precisions`` (its JSON text or a list), in b order."""
    from ccbounds.quantize.precision import parse_precisions

    if isinstance(precisions, str):
        precisions = json.loads(precisions)
    return [p.label for p in parse_precisions(precisions)]


def row_schema(precisions: Any = (), extra: dict[str, Any] | None = None) -> Any:
    """The Arrow schema of every row of a sweep auditing ``precisions``: the fixed columns, four per
    precision, then ``extra`` columns (name -> Arrow type) a row carries beyond them.

    Examples
    --------
    >>> s = row_schema([1, 32])
    >>> s.field("bits_fixed1").type, s.field("verdict_fp32").type, s.field("error").type, len(s)
    (DataType(int64), DataType(string), DataType(string), 48)
    """
    import pyarrow as pa

    fields = [(n, t) for n, t in _HEAD]
    for label in _labels(precisions) if len(precisions) else []:
        fields += [(prefix + label, t) for prefix, t in _PER_PRECISION]
    fields += list(_TAIL)
    out = [pa.field(n, getattr(pa, t)()) for n, t in fields]
    out += [pa.field(n, t) for n, t in (extra or {}).items()]
    return pa.schema(out)


def _typed_table(row: dict[str, Any]) -> Any:
    """One row as an Arrow table of :func:`row_schema` (unknown columns appended with their inferred type)."""
    import pyarrow as pa

    known = row_schema(row.get("precisions") or ())
    extra = {}
    for k, v in row.items():
        if k not in known.names:
            t = pa.array([v]).type
            extra[k] = pa.string() if pa.types.is_null(t) else t
    schema = row_schema(row.get("precisions") or (), extra)
    return pa.Table.from_pylist([{n: row.get(n) for n in schema.names}], schema=schema)

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
            self.path.mkdir(parents=True, exist_ok=True)
            old = self.path / "logs"
            if old.is_dir() and not (self.path / LOGS).exists():  # the layout before results were a dataset
                old.rename(self.path / LOGS)
            (self.path / LOGS).mkdir(exist_ok=True)
        except OSError as e:
            raise InvalidInputError(f"cannot create the results folder {str(self.path)!r} ({e.strerror}); pass "
                                    "a writable folder") from None
        self.damaged: list[str] = []
        counts = {f: sum(p.suffix[1:] == f for p in self._parts()) for f in FORMATS}
        present = {f for f, c in counts.items() if c}
        if fmt is not None and fmt not in FORMATS:
            raise InvalidInputError(f"unknown results format {fmt!r}; valid ones are {list(FORMATS)}")
        if fmt is not None and present and fmt not in present:
            raise InvalidInputError(f"{str(self.path)!r} holds {min(present)} parts; pass --format "
                                    f"{min(present)} or another --results folder")
        # the folder's format: the one most of its parts have (a stray file of the other format is not a part)
        self.fmt = fmt or (max(FORMATS, key=lambda f: (counts[f], f == "parquet")) if present else "parquet")

    def _parts(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.suffix[1:] in FORMATS and p.name[0] not in "._"
                      and p.is_file())

    def write(self, row: dict[str, Any], log: str | None = None) -> Path:
        """Write one row (and its log) atomically as ``<row["key"]>.<fmt>``; returns the part's path."""
        import pyarrow as pa

        key = str(row["key"])
        if log is not None:
            self._atomic(self.path / LOGS / f"{key}.log", lambda tmp: tmp.write_text(log))
        table = _typed_table(row) if self.fmt == "parquet" else pa.Table.from_pylist([row])
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

    def _read(self, p: Path) -> dict[str, Any]:
        if p.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(p).to_pylist()
        else:
            import pyarrow.csv as pcsv

            rows = pcsv.read_csv(p, convert_options=pcsv.ConvertOptions(strings_can_be_null=True)).to_pylist()
        if len(rows) != 1 or not rows[0].get("status") or str(rows[0].get("key")) != p.stem:
            raise ValueError(f"{len(rows)} rows, status {rows[0].get('status') if rows else None!r}")
        return rows[0]

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict, in key order.

        A part that cannot be read (truncated, empty, not a row of this key, no ``status``) is moved to
        ``_damaged/`` with a warning and left out, so its run is redone on resume; :attr:`damaged` lists them.
        """
        out, damaged = [], []
        for p in self._parts():
            if p.suffix[1:] != self.fmt:
                continue
            try:
                out.append(self._read(p))
            except Exception as e:  # noqa: BLE001 - whatever a damaged file raises, the run is redone
                damaged.append((p, e))
        self._set_aside(damaged)
        return out

    def _set_aside(self, damaged: list[tuple[Path, Exception]]) -> None:
        """Move damaged parts to ``_damaged/`` and say so in one warning."""
        if not damaged:
            return
        moved = 0
        for p, _ in damaged:
            try:
                (self.path / DAMAGED).mkdir(exist_ok=True)
                os.replace(p, self.path / DAMAGED / p.name)
                moved += 1
            except OSError:
                pass
            self.damaged.append(p.name)
        p, err = damaged[0]
        what = (f"results part {str(p)!r} is damaged" if len(damaged) == 1 else
                f"{len(damaged)} results parts in {str(self.path)!r} are damaged, e.g. {p.name!r}")
        warnings.warn(f"{what} ({type(err).__name__}: {str(err)[:100]}); {moved} moved to "
                      f"{str(self.path / DAMAGED)!r}, their runs will be redone", RuntimeWarning, stacklevel=3)

    def migrate(self) -> int:
        """Rewrite every Parquet part in the one schema of :func:`row_schema` (same values, typed nulls); returns
        how many parts changed. For folders written before results were one dataset."""
        import pyarrow.parquet as pq

        changed = 0
        for p in self._parts():
            if p.suffix != ".parquet":
                continue
            try:
                row = self._read(p)
            except Exception as e:  # noqa: BLE001
                self._set_aside([(p, e)])
                continue
            table = _typed_table(row)
            if pq.read_schema(p).equals(table.schema, check_metadata=False):
                continue
            new = table.to_pylist()[0]
            same = json.dumps({k: new[k] for k in row}, sort_keys=True, default=str)
            if same != json.dumps(row, sort_keys=True, default=str) or any(new[k] is not None for k in new
                                                                             if k not in row):
                raise AssertionError(f"migrating {p} would change its values")  # pragma: no cover
            self._atomic(p, lambda tmp, t=table: pq.write_table(t, tmp))
            changed += 1
        return changed

    def compact(self, out: str | Path) -> Path:
        """Write every row as one Parquet file ``out`` (one schema: :func:`row_schema`); returns its path.

        Raises
        ------
        InvalidInputError
            No rows, or ``out`` cannot be written.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = self.rows()
        if not rows:
            raise InvalidInputError(f"{str(self.path)!r} holds no rows to compact; run the sweep first")
        tables = [_typed_table(r) for r in rows]
        table = pa.concat_tables(tables, promote_options="default")
        target = Path(out)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            return self._atomic(target, lambda tmp: pq.write_table(table, tmp))
        except OSError as e:
            raise InvalidInputError(f"cannot write {str(target)!r} ({e.strerror}); pass a writable path") from None

    def statuses(self) -> dict[str, str]:
        """``{key: status}`` of every finished run ("ok" or "error"); damaged parts are set aside (:meth:`rows`)."""
        return {str(r["key"]): str(r["status"]) for r in self.rows()}

    def table(self) -> Any:
        """The table as a pandas DataFrame: the parts concatenated (columns of every part; missing = NaN)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame(rows) if rows else pd.DataFrame({"key": [], "status": []})

    def log(self, key: str) -> str:
        """The log of run ``key``."""
        p = self.path / LOGS / f"{key}.log"
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
