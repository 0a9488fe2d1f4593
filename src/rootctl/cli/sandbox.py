"""`rootctl sandbox serve`: run the local organization until interrupted."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click


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
def serve(
    fixture_path: Path | None,
    sample: bool,
    accounts: int | None,
    seed: int | None,
    port: int,
    region: str,
    latency_ms: float,
    error_rate: float,
    throttle_rps: float,
    lost_response_rate: float,
) -> None:
    """Start the sandbox and print the `export` lines that point AWS clients at it.

    The printed keys belong to an IAM user of the management account and are valid only
    in this sandbox. Stop with Ctrl-C.
    """
    from rootctl.errors import UsageError
    from rootctl.sandbox import FaultConfig, Sandbox, sample_fixture_path

    if sample and fixture_path:
        raise UsageError("use either --fixture FILE or --sample, not both")
    source = sample_fixture_path() if sample else fixture_path
    faults = FaultConfig(
        latency_ms=latency_ms,
        error_rate=error_rate,
        throttle_rps=throttle_rps,
        lost_response_rate=lost_response_rate,
    )
    sb = Sandbox.create(
        source, accounts=accounts, seed=seed, port=port, region=region, faults=faults
    )
    try:
        server = sb._make_server()
    except OSError as exc:
        sb.stop()
        raise UsageError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another --port"
        ) from None
    for key, value in sb.env().items():
        click.echo(f"export {key}={shlex.quote(value)}")
    click.echo("unset AWS_PROFILE AWS_SESSION_TOKEN")
    members = len(sb.root_state())
    click.echo(
        f"# rootctl sandbox: organization {sb.organization_id}, management account "
        f"{sb.management_account_id}, {members} member accounts, listening on {sb.endpoint_url}. Ctrl-C stops it.",
        err=True,
    )
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("# sandbox stopped", err=True)
    finally:
        sb.stop()
