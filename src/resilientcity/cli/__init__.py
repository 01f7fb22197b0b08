"""The ``resilientcity`` command line: thin wrappers that parse, call the library and print.

Errors raised on purpose (:class:`~resilientcity.errors.ResilientCityError`) print one line (for
a :class:`~resilientcity.errors.ValidationError`, followed by its problems, one per line) and exit
with code 1, as do errors of the store (SQLAlchemy's, named by the ``--db`` URL); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys

import typer

from resilientcity.cli._console import err_console, state
from resilientcity.cli._errors import database_error_line, is_database_error
from resilientcity.cli.assess import assess
from resilientcity.cli.demo import demo
from resilientcity.cli.ingest import ingest_csv
from resilientcity.cli.run import run
from resilientcity.cli.serve import mqtt_ingest, serve
from resilientcity.cli.token import token_app
from resilientcity.cli.twin import twin_app
from resilientcity.errors import ResilientCityError, ValidationError

__all__ = ["app", "main"]

#: Problems of a ValidationError printed under its first line.
_PROBLEMS_SHOWN = 10

app = typer.Typer(
    name="resilientcity",
    help="ResilientCity: a resilient city brain (digital twin, risk, decisions, resilience).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(twin_app, name="twin")
app.command("demo")(demo)
app.command("run")(run)
app.command("assess")(assess)
app.command("serve")(serve)
app.command("mqtt-ingest")(mqtt_ingest)
app.command("ingest")(ingest_csv)
app.add_typer(token_app, name="token")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    state.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    state.db_url = None  # set by a command's --db option
    try:
        code = app(args=argv, standalone_mode=False)  # click returns Exit codes here
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except ResilientCityError as exc:
        if state.debug:
            raise
        lines = str(exc).splitlines() or [type(exc).__name__]
        err_console.print(f"[bold red]error:[/] {lines[0]}", highlight=False, soft_wrap=True)
        if isinstance(exc, ValidationError):  # the problems, each naming field, rows, rule
            for line in lines[1 : 1 + _PROBLEMS_SHOWN]:
                err_console.print(line, highlight=False, soft_wrap=True, markup=False)
            if len(lines) > 1 + _PROBLEMS_SHOWN:
                err_console.print(f"  … and {len(lines) - 1 - _PROBLEMS_SHOWN} more problems")
        sys.exit(1)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None)
        sys.exit(code if code is not None else getattr(exc, "code", 0))
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # usage errors (typer's vendored click) and anything unexpected
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if state.debug:
            raise
        if is_database_error(exc):
            err_console.print(
                f"[bold red]error:[/] {database_error_line(exc)}", highlight=False, soft_wrap=True
            )
            sys.exit(1)
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            highlight=False,
        )
        sys.exit(2)
