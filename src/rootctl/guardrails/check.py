"""`rootctl guardrails check` as a value: which root sessions the SCPs block, and why.

Reading the SCPs (fetch.py) is about AWS calls and their cost; this is what an operator acts
on once they are read: the analysis per account, the blocking causes grouped the way they are
fixed (one per denying statement, naming every account under it), the exit decision and the
JSON document. It is kept apart so the reading stays usable (and readable) without the check,
and the report can change without touching the calls.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rootctl.guardrails.analysis import (
    AccountAnalysis,
    GuardrailAnalysis,
    analyze,
    conflicts,
)
from rootctl.guardrails.fetch import read_scp_paths
from rootctl.guardrails.snapshot import ScpSnapshot

if TYPE_CHECKING:
    from rootctl.aws.session import SessionFactory

__all__ = ["BlockingCause", "GuardrailCheck", "check_guardrails"]


@dataclass(frozen=True)
class BlockingCause:
    """A statement (or a level without Allow) that blocks root sessions in some accounts."""

    policy: str | None  # the denying SCP; None when a level has no Allow
    sid: str | None
    missing_allow_level: str | None
    attached_at: tuple[str, ...]  # level names where the denying SCP is attached
    accounts: tuple[str, ...]
    tasks: tuple[str, ...]  # short task names

    def describe(self) -> str:
        count = f"{len(self.accounts)} account{'s' if len(self.accounts) != 1 else ''}"
        tasks = ", ".join(self.tasks)
        if self.policy is None:
            return (
                f"no SCP at {_where(self.missing_allow_level or '')} allows the actions of root "
                f"sessions ({tasks}) in {count}: allow them there (an allow-list SCP must list them)"
            )
        where = ", ".join(_where(level) for level in self.attached_at) or "?"
        return (
            f"SCP {self.policy} (statement {self.sid or 'without Sid'}, attached to {where}) "
            f"blocks root sessions ({tasks}) in {count}: exempt AssumeRoot sessions with "
            "Null aws:AssumedRoot, as template deny_actions_as_root_except_centralized_root does"
        )


def _where(level: str) -> str:
    """Level names as users write paths: root -> /root, ou:/root/a -> /root/a."""
    if level == "root":
        return "/root"
    if level.startswith("ou:"):
        return level[3:]
    return level.replace("account:", "account ")


class _CauseAcc:
    def __init__(self) -> None:
        self.accounts: list[str] = []
        self.tasks: list[str] = []
        self.attached: set[str] = set()

    def add(self, account_id: str, task: str) -> None:
        if account_id not in self.accounts:
            self.accounts.append(account_id)
        if task not in self.tasks:
            self.tasks.append(task)


@dataclass(frozen=True)
class GuardrailCheck:
    """`rootctl guardrails check` as a value: the SCPs read, their analysis, the features."""

    snapshot: ScpSnapshot
    analysis: GuardrailAnalysis
    enabled_features: tuple[str, ...] | None  # None: the caller could not read them
    unknown: tuple[str, ...] = ()  # what read_state could not read, and why

    @property
    def blocking(self) -> tuple[AccountAnalysis, ...]:
        """Accounts where some root session is blocked, or whose SCPs could not be evaluated."""
        return tuple(a for a in self.analysis.accounts if a.blocked_tasks or a.error)

    @property
    def failed(self) -> bool:
        """Root sessions are blocked while the features are enabled (or their state is unknown)."""
        features_on = self.enabled_features is None or bool(self.enabled_features)
        return features_on and bool(self.blocking)

    def conflicts(self) -> list[str]:
        """One line per account and cause (see `analysis.conflicts`)."""
        return conflicts(self.analysis)

    def causes(self) -> list[BlockingCause]:
        """The blocking causes across accounts: one per denying statement or level without Allow.

        A broad "deny root" SCP on an OU is one cause naming every account under it, which is
        what the operator fixes; per-account lines are `conflicts()`.
        """
        found: dict[tuple[str | None, str | None], _CauseAcc] = {}
        for result in self.analysis.accounts:
            levels = self.snapshot.levels(result.account_id) if result.blocked_tasks else []
            for check in result.tasks:
                if not check.blocked:
                    continue
                ref = check.denied_by
                key = (ref.policy, ref.sid) if ref else (None, check.missing_allow_level)
                acc = found.setdefault(key, _CauseAcc())
                acc.add(result.account_id, check.task.short_name)
                if ref is not None:
                    acc.attached.update(
                        name
                        for name, policies in levels
                        if any(policy == ref.policy for policy, _ in policies)
                    )
        return [
            BlockingCause(
                policy=policy,
                sid=detail if policy is not None else None,
                missing_allow_level=detail if policy is None else None,
                attached_at=tuple(sorted(acc.attached)),
                accounts=tuple(acc.accounts),
                tasks=tuple(acc.tasks),
            )
            for (policy, detail), acc in found.items()
        ]


def check_guardrails(
    factory: SessionFactory, account_ids: Collection[str] | None = None
) -> GuardrailCheck:
    """Which root sessions the SCPs block, per account (default: every member account).

    The management account is left out by default (SCPs do not apply to it); named in
    `account_ids` it is reported as exempt.
    """
    from rootctl.org.features import read_state, require_central_caller

    state = read_state(factory, with_scps=False)
    require_central_caller(state, "reading the SCPs of every account")
    snapshot = read_scp_paths(factory, account_ids, members_only=account_ids is None)
    analysis = analyze(snapshot.paths(), management_account=snapshot.management_account_id)
    features = None if state.enabled_features is None else tuple(state.enabled_features)
    return GuardrailCheck(snapshot, analysis, features, tuple(state.unknown))
