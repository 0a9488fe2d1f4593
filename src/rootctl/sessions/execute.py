"""`rootctl exec`: run a command with a root session's credentials in its environment only.

The credentials go into the child's environment and nowhere else: never printed, never in
the journal (the entry holds the command line, the session's access key id and the exit
status). Variables that could make the child pick other credentials (a profile, a web
identity, a container endpoint) are removed; AWS_ENDPOINT_URL and the rest are kept.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rootctl.errors import UsageError
from rootctl.journal import scrub_text
from rootctl.sessions.rules import SessionRequest
from rootctl.tasks import Task

# `exec` opens a session with whichever task the user names.
TASKS = tuple(Task)
EXEC: Final = "exec"  # the journal action of the command's entry

if TYPE_CHECKING:
    from rootctl.aws import Credentials
    from rootctl.run import RunContext

# Anything that would let the child's SDK prefer other credentials over the session's.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)
NOT_FOUND_STATUS = 127
NOT_EXECUTABLE_STATUS = 126
INTERRUPTED_STATUS = 130


@dataclass(frozen=True)
class ExecResult:
    """How the child ended, and the journal entry that records it."""

    exit_status: int
    entry_id: int
    access_key_id: str
    error: str | None = None


def session_environment(
    base: Mapping[str, str], credentials: Credentials, region: str
) -> dict[str, str]:
    """`base` without other credentials, plus the session's keys and the region."""
    env = {k: v for k, v in base.items() if k not in CREDENTIAL_VARIABLES}
    env["AWS_ACCESS_KEY_ID"] = credentials.access_key_id
    env["AWS_SECRET_ACCESS_KEY"] = credentials.secret_access_key
    env["AWS_SESSION_TOKEN"] = credentials.session_token
    env["AWS_REGION"] = region
    env["AWS_DEFAULT_REGION"] = region
    return env


def run_with_session(
    ctx: RunContext,
    account_id: str,
    task: Task,
    argv: Sequence[str],
    base_env: Mapping[str, str],
    region: str | None = None,
    announce: Callable[[str], None] | None = None,
) -> ExecResult:
    """Check the rules, open the session, run `argv`, journal the command and its status.

    `announce` receives the session's access key id just before the command starts.
    """
    if not argv:
        raise UsageError("no command given: rootctl exec ... -- COMMAND [ARGS...]")
    ctx.check(SessionRequest(account_id, task, ctx.reason))
    credentials = ctx.opened(account_id, task, lambda: ctx.broker.credentials(account_id, task))
    env = session_environment(base_env, credentials, region or ctx.region)
    if announce is not None:
        announce(credentials.access_key_id)
    status, error = _run(list(argv), env)
    entry = ctx.recorder.append(
        EXEC,
        "ok" if status == 0 else "error",
        account_id=account_id,
        task=task,
        target=scrub_text(shlex.join(argv)),
        after={"exit_status": status, "access_key_id": credentials.access_key_id},
        error=error,
    )
    return ExecResult(status, entry.id, credentials.access_key_id, error)


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str | None]:
    try:
        completed = subprocess.run(argv, env=env, check=False)
    except FileNotFoundError:
        return NOT_FOUND_STATUS, f"command not found: {argv[0]}"
    except PermissionError:
        return NOT_EXECUTABLE_STATUS, f"command not executable: {argv[0]}"
    except KeyboardInterrupt:
        return INTERRUPTED_STATUS, "interrupted"
    status = completed.returncode
    if status < 0:  # killed by a signal: report it the way shells do
        return 128 - status, f"killed by signal {-status}"
    return status, None if status == 0 else f"exit status {status}"
