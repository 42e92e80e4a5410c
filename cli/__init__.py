"""The `rectify` command: one module per command group, assembled here, with one map from failures to exit codes.

Exit codes: 0 done, 1 command rejected, 2 usage error, 3 a server could not be reached. Every command can print
JSON (`--json`). No traceback reaches the user for a usage or input error.

- cli/stack.py        up, api, worker, doctor, city-check
- cli/recover.py      recover (start what the store holds open and Temporal does not run)
- cli/intake.py       report (files a case, or joins the open case it repeats)
- cli/commands.py     claim, dispute, … every case command, built from domain/command_table.py
- cli/reads.py        show, list, history, inbox
- cli/sim.py          demo, simulate
- cli/accountability  accountability list|show|explain|decide
- cli/points.py, cli/rounds.py: points list|show, rounds start|record|list|show (inspection points and rounds)
- cli/ranking.py      ranking weekly|unit|quarter
- cli/bulletin.py     bulletin issue
- cli/keys.py, cli/users.py, cli/audit.py: keys …, users …, audit …
- cli/notices.py, cli/channels.py: notices failed|retry|attempts, channels list|test
- cli/common.py       the options, consoles and output every module shares
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any


def _interrupt_exits() -> Callable[[], None]:
    """Until the returned function is called, Ctrl-C exits with 130 and no traceback: the command is still
    loading (its imports take seconds) and has started nothing. Only in the main thread and over Python's own
    handler (a host with a handler of its own keeps it); an importer sees SystemExit, not a dead process."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return lambda: None

    def stop(_signum: int, _frame: Any) -> None:
        raise SystemExit(130)

    def restore() -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, stop)
    return restore


_loaded = _interrupt_exits()

import typer  # noqa: E402  (the imports below are the slow part of loading)
from pydantic import ValidationError  # noqa: E402

from rectify.cli import (  # noqa: E402
    accountability,
    audit,
    bulletin,
    channels,
    intake,
    keys,
    notices,
    points,
    ranking,
    reads,
    recover,
    rounds,
    sim,
    stack,
    users,
)
from rectify.cli.commands import register  # noqa: E402
from rectify.cli.common import EXIT_REJECTED, EXIT_UNREACHABLE, EXIT_USAGE, err  # noqa: E402
from rectify.domain.command_table import Stream  # noqa: E402

app = typer.Typer(
    name="rectify",
    help="Rectify: rectification cases (问题整改案件) as durable, auditable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cases = typer.Typer()
register(cases, Stream.CASE)
for group in (
    stack.app,
    recover.app,
    sim.app,
    intake.app,
    cases,
    reads.app,
):  # commands at the top level, in this order
    app.add_typer(group)
app.add_typer(accountability.app, name="accountability")
app.add_typer(ranking.app, name="ranking")
app.add_typer(bulletin.app, name="bulletin")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(notices.app, name="notices")
app.add_typer(channels.app, name="channels")
app.add_typer(points.app, name="points")
app.add_typer(rounds.app, name="rounds")
_loaded()


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every expected failure to its exit code, then leave through os._exit (sdk-python#300)."""
    loading = _interrupt_exits()
    from rectify import logs
    from rectify.telemetry import flush_traces

    logs.configure()
    logs.route_temporal_core()
    status = run(argv, loading)
    flush_traces()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run(argv: list[str] | None = None, loaded: Callable[[], None] = lambda: None) -> int:
    """The command's exit status; `loaded` is called once everything is imported, just before the command runs."""
    import asyncpg

    from rectify.api.keys import ApiKeyError
    from rectify.audit.bundle import ExportError
    from rectify.bulletins.ranking import UnknownUnitError
    from rectify.city import CityDataError
    from rectify.client import CaseNotFound, CommandRejected, ServerUnavailable
    from rectify.devstack import StackError
    from rectify.domain.periods import PeriodError
    from rectify.sim.run import SimulationError

    command = typer.main.get_command(app)
    loaded()
    try:
        # Standalone mode lets the parser print usage errors itself and exit 2, as users expect.
        command.main(args=argv, prog_name="rectify", standalone_mode=True)
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else EXIT_USAGE)
    except audit.AuditFailed:
        return EXIT_REJECTED
    except CommandRejected as error:
        err.print(f"[red]rejected[/red] ({error.rule}): {error}")
        return EXIT_REJECTED
    except CaseNotFound as error:
        err.print(f"[red]not found[/red]: {error}")
        return EXIT_REJECTED
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        err.print(f"[red]invalid input[/red]: {field}: {first['msg']}")
        return EXIT_USAGE
    except (
        CityDataError,
        SimulationError,
        ExportError,
        PeriodError,
        UnknownUnitError,
        ApiKeyError,
        ValueError,
    ) as error:
        err.print(f"[red]invalid input[/red]: {error}")
        return EXIT_USAGE
    except (ServerUnavailable, StackError, ConnectionError, OSError) as error:
        err.print(f"[red]unreachable[/red]: {error}")
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        return 130
    except asyncpg.PostgresError as error:  # e.g. an auditor's read-only role asked to write
        err.print(f"[red]database refused[/red]: {type(error).__name__}: {error}")
        return EXIT_REJECTED
    except Exception as error:  # a bug, not a user's mistake: one line here, the traceback on request
        if os.environ.get("RECTIFY_DEBUG"):
            err.print_exception()
        err.print(f"[red]internal error[/red]: {type(error).__name__}: {error} (set RECTIFY_DEBUG=1 for details)")
        return EXIT_REJECTED
