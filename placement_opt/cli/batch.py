"""``placement-opt batch``: many instances x several solvers, one row per pair.

The engine is :mod:`placement_opt.batch`; this module only parses options,
prints the summary and maps outcomes to exit codes (2 bad input, 130 Ctrl-C).
"""

from __future__ import annotations

import math
import sys
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from ..errors import InputError
from .common import app, console, fail

EXIT_INTERRUPTED = 130


@app.command("batch")
def batch(
    files: Annotated[list[str], typer.Argument(help="instance files, directories or glob patterns")],
    solvers: Annotated[str, typer.Option("--solvers", help="comma-separated solver names")],
    output: Annotated[str, typer.Option("--output", "-o", help="results file: .csv, .parquet or .json")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds per solve")] = 60.0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="tasks run in parallel")] = 1,
    threads: Annotated[int | None, typer.Option(help="threads inside each solver")] = None,
    seed: Annotated[int, typer.Option(help="random seed for every solve")] = 0,
    backend: Annotated[str, typer.Option(help="local (process pool), ray or inline")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: start a local one)")] = None,
    plugin: Annotated[list[str] | None,
                      typer.Option("--plugin", help="module to import first (custom solvers)")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="show a progress bar")] = True,
) -> None:
    """Solve every instance with every solver; resume by running the same command again."""
    from ..batch import BatchAborted, BatchInterrupted, run_batch

    if address and backend != "ray":
        fail("--address: only used with --backend ray")
    try:
        table = run_batch(files, solvers, time_limit=time_limit, jobs=jobs, threads=threads, seed=seed,
                          output=output, backend=backend, address=address, progress=progress,
                          plugins=tuple(plugin or ()))
    except InputError as exc:
        fail(str(exc))
    except BatchInterrupted as exc:
        sys.stderr.write(f"interrupted: {exc.done} of {exc.total} tasks done, rows are in {exc.output}; "
                         "run the same command again to resume\n")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BatchAborted as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(1) from None
    _print_summary(table, output)


def _print_summary(table: pd.DataFrame, output: str) -> None:
    from ..batch import summarize

    skipped = table.attrs.get("skipped", 0)
    console.print(f"{len(table)} rows for this batch in {output} ({len(table) - skipped} solved now, "
                  f"{skipped} already there)", markup=False, highlight=False)
    if table.empty:
        return
    summary = summarize(table)
    view = Table(title="summary (gap: to the best objective found for the instance)")
    for col in ("solver", "tasks", "feasible", "wins", "mean gap", "mean time s", "total time s"):
        view.add_column(col, justify="left" if col == "solver" else "right")
    for row in summary.reset_index().itertuples(index=False):
        gap = "-" if math.isnan(row.mean_gap) else f"{100 * row.mean_gap:.3f} %"
        view.add_row(str(row.solver), str(row.tasks), str(row.feasible), str(row.wins), gap,
                     f"{row.mean_time:.3f}", f"{row.total_time:.2f}")
    console.print(view)
    errors = table[table["status"] == "error"]
    for _, row in errors.head(5).iterrows():
        console.print(f"error: {row['instance']} / {row['solver']}: {row['error']}", markup=False, highlight=False)
