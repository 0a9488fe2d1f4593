"""`rootctl sandbox serve`: run the local organization until interrupted (or in the background)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import click

MOTO_MISSING = "the sandbox needs moto: pip install 'rootctl[sandbox]'"


def require_moto() -> None:
    """One line instead of a 30-line traceback when the sandbox extra is not installed."""
    from rootctl.errors import UsageError

    try:
        import moto.moto_server.werkzeug_app  # noqa: F401  (the part serve and demo use)
    except ImportError:
        raise UsageError(MOTO_MISSING) from None


def _call_numbers(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    """A comma-separated list of call numbers from 1, e.g. `3,7`."""
    try:
        numbers = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of call numbers"
        ) from None
    if any(n < 1 for n in numbers):
        raise click.BadParameter(f"{value!r}: call numbers start at 1")
    return numbers


def _count_options(command: Any) -> Any:
    """The count-based fault flags: what tests use, because counts do not depend on speed."""
    for fault, unit, what in (
        ("lost-response", "successful change", "applied, then answered 500/503 or dropped"),
        ("throttle", "API call", "answered with a throttling error"),
        ("error", "API call", "answered with an injected 500/503"),
    ):
        command = click.option(
            f"--{fault}-calls",
            metavar="N,N,...",
            default="",
            callback=_call_numbers,
            help=f"These {unit} numbers (from 1): {what}.",
        )(command)
        command = click.option(
            f"--{fault}-every",
            type=click.IntRange(0),
            default=0,
            help=f"Every Nth {unit} (0: never): {what}.",
        )(command)
    return command


@click.group()
def sandbox() -> None:
    """Run a local AWS organization that speaks centralized root access (no AWS account needed)."""


@sandbox.command()
@click.option(
    "--fixture",
    "fixture_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fixture YAML (docs/sandbox.md). Default: an empty organization, or the sample with --sample.",
)
@click.option("--sample", is_flag=True, help="Load the sample organization shipped with rootctl.")
@click.option(
    "--accounts",
    type=click.IntRange(0, 20000),
    help="Generate N member accounts with random leftover root credentials.",
)
@click.option("--seed", type=int, help="Random seed for generated accounts (default 0).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5050,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option("--region", default="us-east-1", show_default=True)
@click.option(
    "--latency-ms",
    type=click.FloatRange(0),
    default=0.0,
    help="Added latency per call, in milliseconds.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of calls answered with an injected 500/503.",
)
@click.option(
    "--throttle-rps",
    type=click.FloatRange(0),
    default=0.0,
    help="Calls per second allowed before throttling errors (0: no limit).",
)
@click.option(
    "--lost-response-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of successful changes applied, then answered 500/503 or the connection dropped.",
)
@_count_options
@click.option(
    "--detach",
    is_flag=True,
    help="Serve in the background: print the export lines (and ROOTCTL_SANDBOX_PID) and return, "
    'for eval "$(rootctl sandbox serve --detach ...)". Stop it with kill $ROOTCTL_SANDBOX_PID.',
)
def serve(
    fixture_path: Path | None,
    sample: bool,
    accounts: int | None,
    seed: int | None,
    port: int,
    region: str,
    detach: bool,
    **fault_options: Any,
) -> None:
    """Start the sandbox and print the `export` lines that point AWS clients at it.

    The printed keys belong to an IAM user of the management account and are valid only
    in this sandbox; ROOTCTL_SANDBOX_TOKEN opens its control API. Stop with Ctrl-C.
    """
    from rootctl.errors import UsageError

    require_moto()
    from rootctl.sandbox import FaultConfig, Sandbox, sample_fixture_path

    if sample and fixture_path:
        raise UsageError("use either --fixture FILE or --sample, not both")
    if detach and not hasattr(os, "fork"):
        raise UsageError("--detach needs a POSIX system; run serve in another terminal")
    source = sample_fixture_path() if sample else fixture_path
    try:
        faults = FaultConfig(**fault_options)
    except ValueError as exc:  # e.g. --latency-ms inf: click's range lets infinity through
        raise UsageError(f"faults: {exc}") from None
    sb = Sandbox.create(
        source, accounts=accounts, seed=seed, port=port, region=region, faults=faults
    )
    try:
        server = sb._make_server()
    except OSError as exc:
        sb.stop()
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; "
            "pick another --port, or --port 0 for a free one"
        ) from None
    if detach:
        _detach(sb, server)
        return
    _print_exports(sb, {})
    members = len(sb.root_state())
    click.echo(
        f"# rootctl sandbox: organization {sb.organization_id}, management account "
        f"{sb.management_account_id}, {members} member accounts, listening on {sb.endpoint_url}. Ctrl-C stops it.",
        err=True,
    )
    click.echo(_fidelity_note(), err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("# sandbox stopped", err=True)
    finally:
        sb.stop()


# What the sandbox does not model, in one line; docs/sandbox.md ("Not modelled") has the list.
NOT_MODELLED = (
    "IAM identity policies, permission boundaries, trust policies and RCPs are not evaluated; "
    "SCPs only for root identities; no real root sign-in, console or account recovery"
)


def _fidelity_note() -> str:
    """The moto version behind the sandbox and what it does not model (users compare with AWS)."""
    from importlib.metadata import version

    return f"# moto {version('moto')}; not modelled: {NOT_MODELLED} (docs/sandbox.md)."


def _print_exports(sb: Any, extra: dict[str, str]) -> None:
    variables = {**sb.env(), **sb.control_env(), **extra}
    for key, value in variables.items():
        click.echo(f"export {key}={shlex.quote(value)}")
    click.echo("unset AWS_PROFILE AWS_SESSION_TOKEN")


def _detach(sb: Any, server: Any) -> None:
    """Fork once the port is bound: the child serves, the parent prints and returns.

    The child leaves the terminal's session and closes the standard streams, so that
    `eval "$(rootctl sandbox serve --detach)"` gets its end of file and returns (a server
    started with `&` inside `$(...)` keeps the pipe open: the eval never returns).
    Forking before any thread exists keeps the child's state whole.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: serve until SIGTERM
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(null, stream)
        try:
            server.serve_forever()
        finally:
            os._exit(0)
    sb._server = None  # the child owns the listening socket now; the parent only lets go
    server.socket.close()
    sb.stop()
    _print_exports(sb, {"ROOTCTL_SANDBOX_PID": str(pid)})
    click.echo(
        f"# rootctl sandbox: listening on {sb.endpoint_url} in the background (pid {pid}); "
        "kill $ROOTCTL_SANDBOX_PID stops it.",
        err=True,
    )
