"""Audit root user credentials: one IAMAuditRootUserCredentials session per account.

Accounts run on the fan-out's workers; each account's five reads run together on a
shared pool (`read.py`). An account that fails becomes an error result; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore import exceptions as bex
from botocore.exceptions import BotoCoreError, ClientError

from rootctl.credentials.models import AccountAudit, AuditReport
from rootctl.credentials.read import read_root_credentials
from rootctl.errors import RootctlError, code_is
from rootctl.fanout import DEFAULT_CONCURRENCY, RunGate, run_over_accounts
from rootctl.results import Account, ErrorInfo
from rootctl.tasks import Task

if TYPE_CHECKING:
    from rootctl.aws.broker import RootSessionBroker
    from rootctl.aws.session import SessionFactory
    from rootctl.org.selection import Selection
    from rootctl.progress import ProgressLike

# What an audit needs, besides the Organizations reads (rootctl.org.accounts.PERMISSIONS).
PERMISSIONS = (
    "sts:AssumeRoot",
    "iam:GetLoginProfile",
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListSigningCertificates",
    "iam:ListMFADevices",
)
# The task policies this module opens root sessions with (rootctl.permissions).
TASKS = (Task.AUDIT,)
# Reads of one account that run at the same time, besides the account's own worker.
READS_PER_ACCOUNT = 4
# The code of an account a stopped run never started (its message says why).
NOT_ATTEMPTED = "NotAttempted"


def _names(*roots: type[BaseException]) -> frozenset[str]:
    found: set[str] = set()
    pending = list(roots)
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return frozenset(found)


# The error codes (`ErrorInfo.code`: botocore's class names) of a call that never got an
# answer: no connection, a timeout, a dropped connection. An AWS error answer is not one.
ENDPOINT_ERRORS = _names(bex.ConnectionError, bex.HTTPClientError) | {"EndpointError"}


def endpoint_failed(error: ErrorInfo | None) -> bool:
    """True when an account's error is the endpoint's (the circuit breaker counts these)."""
    return error is not None and error.code in ENDPOINT_ERRORS


def not_attempted(reason: str) -> ErrorInfo:
    """The error of an account a stopped run did not start."""
    return ErrorInfo(NOT_ATTEMPTED, f"not attempted: {reason}")


def audit_account(
    broker: RootSessionBroker, account: Account, pool: Executor | None = None
) -> AccountAudit:
    """Audit one member account; AWS errors become an error result."""
    try:
        root = broker.run(account.id, Task.AUDIT, lambda s: read_root_credentials(s, pool))
    except (ClientError, BotoCoreError) as exc:
        return error_audit(account, ErrorInfo.from_exception(exc))
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        outcome="ok",
        has_root_credentials=root.has_any(),
        root=root,
    )


def account_error(exc: BaseException) -> ErrorInfo:
    """An unexpected error of one account as a value; operator-level errors stop the run.

    A RootctlError here (rejected operator credentials, a journal that cannot be written)
    is not about this account: every other account would fail the same way.
    """
    if isinstance(exc, RootctlError):
        raise exc
    return ErrorInfo.from_exception(exc)


def error_audit(account: Account, error: ErrorInfo) -> AccountAudit:
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        outcome="error",
        error=error,
    )


def skipped_audit(account: Account, reason: str) -> AccountAudit:
    """A selected account AssumeRoot cannot target; the reason travels in `error.message`."""
    return AccountAudit(
        account_id=account.id,
        account_name=account.name,
        ou_path=account.ou_path,
        outcome="skipped",
        error=ErrorInfo(code="Skipped", message=reason),
    )


def audit_accounts(
    broker: RootSessionBroker,
    selection: Selection,
    *,
    organization_id: str,
    operator: str,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressLike | None = None,
    on_result: Callable[[Account, AccountAudit], None] | None = None,
) -> AuditReport:
    """Audit every target of `selection` concurrently; skipped accounts are reported too."""
    generated_at = datetime.now(UTC)
    audits = audit_targets(
        broker,
        selection.targets,
        concurrency=concurrency,
        progress=progress,
        on_result=on_result,
    )
    return audit_report(
        audits,
        selection,
        organization_id=organization_id,
        operator=operator,
        generated_at=generated_at,
    )


def audit_gate(
    concurrency: int, on_close: Callable[[str], None] | None = None
) -> RunGate[AccountAudit]:
    """The audit's circuit breaker: endpoint failures in a row stop the run."""
    return RunGate.for_concurrency(
        concurrency, lambda audit: endpoint_failed(audit.error), on_close=on_close
    )


def audit_targets(
    broker: RootSessionBroker,
    targets: Sequence[Account],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressLike | None = None,
    on_result: Callable[[Account, AccountAudit], None] | None = None,
    gate: RunGate[AccountAudit] | None = None,
) -> list[AccountAudit]:
    """One audit per target, in input order (in this process, or one worker's share)."""
    workers = READS_PER_ACCOUNT * min(concurrency, max(1, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit-read") as pool:
        return run_over_accounts(
            targets,
            lambda account: audit_account(broker, account, pool),
            on_exception=lambda account, exc: error_audit(account, account_error(exc)),
            concurrency=concurrency,
            on_result=on_result,
            progress=progress,
            gate=gate or audit_gate(concurrency),
            on_not_started=lambda account, why: error_audit(account, not_attempted(why)),
        )


def audit_report(
    audits: Sequence[AccountAudit],
    selection: Selection,
    *,
    organization_id: str,
    operator: str,
    generated_at: datetime,
) -> AuditReport:
    """The report: every target's audit plus the skipped accounts, in a stable order."""
    rows = list(audits)
    rows.extend(skipped_audit(s.account, s.reason) for s in selection.skipped)
    rows.sort(key=lambda a: (a.ou_path, a.account_name, a.account_id))
    return AuditReport(
        generated_at=generated_at,
        organization_id=organization_id,
        operator=operator,
        accounts=tuple(rows),
    )


# The feature AssumeRoot needs for the credential tasks (audit, delete, create password).
CREDENTIALS_FEATURE = "RootCredentialsManagement"


def feature_refusal(report: AuditReport, factory: SessionFactory) -> str | None:
    """One line for an audit whose errors all come from a feature that is not enabled.

    With RootCredentialsManagement off, AssumeRoot refuses every account alike; 50 rows of
    the same AWS message hide the fix. AWS's wording of that refusal is not documented, so
    the cause is read, not guessed from the message: ListOrganizationsFeatures (one
    read-only call of the operator's) must lack the feature. None otherwise.
    """
    errors = [a for a in report.accounts if a.outcome == "error" and a.error is not None]
    codes = {a.error.code for a in errors if a.error is not None}
    if not errors or len(codes) != 1 or codes & ENDPOINT_ERRORS or NOT_ATTEMPTED in codes:
        return None
    try:
        enabled = factory.client("iam").list_organizations_features().get("EnabledFeatures", [])
    except ClientError as exc:
        if not code_is(exc, "ServiceAccessNotEnabled"):  # no trusted access: no feature
            return None
        enabled = []
    except BotoCoreError:
        return None
    if CREDENTIALS_FEATURE in enabled:
        return None
    return (
        f"AssumeRoot was refused ({codes.pop()}) in {len(errors)} accounts: the organization's "
        f"{CREDENTIALS_FEATURE} feature is not enabled; enable it with `rootctl apply` "
        "(centralize_root_access: enabled: true, features: [RootCredentialsManagement, "
        "RootSessions] in rootctl.yaml); per-account results: rootctl audit -o json"
    )
