"""`rootctl credential-process`: a root session's credentials for the AWS SDKs.

The SDKs run the `credential_process` command of a profile and read one JSON object from
its stdout (Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration). The
secret and the token go there and nowhere else: the journal entry of the session holds
the access key id, the expiration, the requested duration and the caller's SourceIdentity.

The session is opened here rather than through the run's broker for two reasons: it
lasts the duration asked for (not the cached broker's), and AssumeRoot's response carries
the caller's `SourceIdentity` (GetCallerIdentity does not), which the entry records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rootctl.aws.errors import stops_the_run
from rootctl.aws.retry import call_with_backoff
from rootctl.aws.session import Credentials
from rootctl.journal import ASSUME_ROOT, root_arn
from rootctl.results import iso
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.run import RunContext

COMMAND = "credential-process"
PERMISSIONS = ("sts:AssumeRoot",)
# Any task may be asked for: the operator's policy names the ones it allows.
TASKS = tuple(Task)


@dataclass(frozen=True)
class ProcessCredentials:
    """A session for an SDK: `document()` is what the SDK reads; repr never shows secrets."""

    credentials: Credentials
    entry_id: int
    source_identity: str | None = None

    def document(self) -> dict[str, Any]:
        c = self.credentials
        return {
            "Version": 1,
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key,
            "SessionToken": c.session_token,
            "Expiration": iso(c.expiration),
        }

    def to_json(self) -> str:
        return json.dumps(self.document())


def open_session(
    run: RunContext, account_id: str, task: Task, duration: int, request_id: str | None
) -> ProcessCredentials:
    """AssumeRoot for `duration` seconds (prechecked; a failure journaled by the run),
    then one session entry without the secret."""
    sts = run.factory.client("sts")

    def assume() -> Any:
        try:
            return call_with_backoff(
                lambda: sts.assume_root(
                    TargetPrincipal=account_id,
                    TaskPolicyArn={"arn": task.arn},
                    DurationSeconds=duration,
                )
            )
        except Exception as exc:
            error = stops_the_run(exc)  # the operator's setup, not this account's problem
            if error is not None:
                raise error from exc
            raise

    response = run.opened(account_id, task, assume)
    credentials = Credentials.from_response(response["Credentials"])
    source = response.get("SourceIdentity")
    entry = run.recorder.append(
        ASSUME_ROOT,
        "ok",
        account_id=account_id,
        task=task,
        target=root_arn(account_id),
        after={
            "access_key_id": credentials.access_key_id,
            "expiration": iso(credentials.expiration),
            "duration_seconds": duration,
            "source_identity": source if isinstance(source, str) else None,
            "request_id": request_id,
        },
    )
    return ProcessCredentials(credentials, entry.id, source if isinstance(source, str) else None)
