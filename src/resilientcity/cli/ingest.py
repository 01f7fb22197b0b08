"""``resilientcity ingest FILE.csv``: store a file of observations in the operations store."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from resilientcity.cli._console import console, err_console
from resilientcity.cli._errors import database_error_line, is_database_error
from resilientcity.cli.serve import DbOption
from resilientcity.errors import DataFileError, Problem, ResilientCityError, ValidationError
from resilientcity.operations.db import DEFAULT_URL

if TYPE_CHECKING:
    from resilientcity.operations.access import Principal
    from resilientcity.operations.service import Service

#: Columns a file of observations must have.
REQUIRED = ("datastream", "phenomenon_time", "result")
#: Columns read from the file (the others are ignored).
COLUMNS = (*REQUIRED, "unit")
#: Problems listed after the summary.
PROBLEMS_SHOWN = 10
NO_DATASTREAMS = (
    "no datastreams: run `resilientcity serve` once to seed the demo city, or create "
    "datastreams via the API"
)


def _header(file: Path) -> list[str]:
    """The file's column names; a clear error when it cannot be read as CSV."""
    try:
        return [str(c).strip() for c in pd.read_csv(file, nrows=0, dtype=str).columns]
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read {file} as CSV: {exc}") from None


def _check_columns(file: Path, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems = [
            Problem(
                "csv",
                c,
                f"a column named {c} (columns: {', '.join(COLUMNS)})",
                found=", ".join(header) or "no columns",
            )
            for c in missing
        ]
        raise ValidationError(problems, what=f"observations file {file}")


def _data_lines(file: Path) -> int:
    """Lines after the header (for the progress bar)."""
    if not file.stat().st_size:
        return 0
    with file.open("rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        handle.seek(-1, 2)
        unterminated = handle.read(1) != b"\n"
    return max(lines + int(unterminated) - 1, 0)


def _chunks(
    file: Path, header: list[str], size: int
) -> Generator[tuple[pd.DataFrame, np.ndarray, int], None, None]:
    """The file in chunks of ``size`` rows: the rows, the file line of each, the lines read.

    Every value is read as text (nothing coerced; validation judges it) except the result,
    read as a number where the text is one (validation takes text as not a number, as it is in
    JSON); empty lines are kept while reading so that line numbers stay exact, then dropped.
    """
    usecols = [c for c in COLUMNS if c in header]
    with pd.read_csv(
        file,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        usecols=lambda c: str(c).strip() in usecols,
        chunksize=size,
        skip_blank_lines=False,
    ) as reader:
        try:
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                lines = chunk.index.to_numpy() + 2  # the header is line 1
                keep = chunk.notna().any(axis=1).to_numpy()
                frame = chunk[keep].reset_index(drop=True)
                payload = frame[usecols[0]].fillna("")
                for column in usecols[1:]:
                    payload = payload + "," + frame[column].fillna("")
                frame["payload"] = payload
                if "result" in frame:
                    frame["result"] = pd.to_numeric(frame["result"], errors="coerce")
                yield frame, lines[keep], len(chunk)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataFileError(f"cannot read {file} as CSV: {exc}") from None


def ingest_csv(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with columns datastream (id or name), phenomenon_time (ISO 8601 with a "
            "UTC offset), result, and optionally unit."
        ),
    ],
    db: DbOption = DEFAULT_URL,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="Rows stored per transaction.")
    ] = 50_000,
) -> None:
    """Store a CSV file of observations (rejected rows are quarantined with their reason).

    Each chunk of rows is one transaction. When the file fails part-way (a line that cannot be
    read, the store lost), the error says which lines were committed before it; the same
    command again stores the rest (the rows stored already count as duplicates).
    """
    from resilientcity.operations.access import Principal
    from resilientcity.operations.service import Service, ServiceSettings

    header = _header(file)
    _check_columns(file, header)
    service = Service(ServiceSettings(db_url=db, seed_demo=False))
    try:
        service.db.upgrade()
        if not len(service.datastreams()):
            raise ResilientCityError(NO_DATASTREAMS)
        totals = _store(service, file, header, chunk, Principal(None, "cli", "admin"))
    finally:
        service.db.dispose()
    _print_summary(file, totals)


def _store(
    service: Service, file: Path, header: list[str], chunk: int, principal: Principal
) -> dict[str, Any]:
    totals: dict[str, Any] = {
        "received": 0,
        "stored": 0,
        "duplicates": 0,
        "rejected": Counter(),
        "problems": [],
    }
    started = time.perf_counter()
    committed = 0  # data lines (after the header) whose chunks are committed
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"storing {file.name}", total=_data_lines(file))
        try:
            with closing(_chunks(file, header, chunk)) as chunks:
                for frame, lines, read in chunks:
                    result = service.ingest(frame, "csv", principal=principal)
                    committed += read
                    totals["received"] += result.received
                    totals["stored"] += result.stored
                    totals["duplicates"] += result.duplicates
                    totals["rejected"].update(result.rejected)
                    room = PROBLEMS_SHOWN - len(totals["problems"])
                    for problem in result.problems[: max(room, 0)]:
                        line = int(lines[problem["index"]])
                        totals["problems"].append({**problem, "line": line})
                    progress.advance(task, read)
        except KeyboardInterrupt:
            err_console.print(
                _partial(file, totals, committed, "interrupted"), highlight=False, soft_wrap=True
            )
            raise
        except Exception as exc:
            if isinstance(exc, ResilientCityError):
                reason = str(exc).splitlines()[0]
            elif is_database_error(exc):
                reason = database_error_line(exc)
            else:
                reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            raise ResilientCityError(_partial(file, totals, committed, reason)) from exc
    totals["seconds"] = time.perf_counter() - started
    return totals


def _partial(file: Path, totals: dict[str, Any], committed: int, reason: str) -> str:
    """One line saying why the file stopped and exactly which lines were stored before it."""
    failed = committed + 2  # the first line of the chunk that failed (the header is line 1)
    head = f"{file}: the rows from line {failed:,} on were not stored ({reason})"
    if not committed:
        return f"{head}; nothing of the file was stored"
    rejected = sum(totals["rejected"].values())
    return (
        f"{head}; lines 2 to {failed - 1:,} were committed before it ("
        f"{totals['received']:,} observations: {totals['stored']:,} stored, "
        f"{totals['duplicates']:,} duplicates, {rejected:,} rejected); the same command again "
        "stores the rest (the rows stored already count as duplicates)"
    )


def _print_summary(file: Path, totals: dict[str, Any]) -> None:
    rejected: Counter[str] = totals["rejected"]
    rate = totals["received"] / totals["seconds"] if totals["seconds"] > 0 else 0.0
    console.print(
        f"[bold]{file.name}[/]: {totals['received']:,} observations in "
        f"{totals['seconds']:.1f} s ({rate:,.0f}/s): {totals['stored']:,} stored, "
        f"{totals['duplicates']:,} duplicates, {sum(rejected.values()):,} rejected"
        + (
            " (" + ", ".join(f"{k} {v:,}" for k, v in sorted(rejected.items())) + ")"
            if rejected
            else ""
        ),
        soft_wrap=True,
    )
    for p in totals["problems"]:
        console.print(
            f"  line {p['line']}: {p['reason']} ({p['datastream']}): {p['detail']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    shown = len(totals["problems"])
    if sum(rejected.values()) > shown:
        console.print(
            f"  … and {sum(rejected.values()) - shown:,} more (kept in the quarantine table)"
        )
