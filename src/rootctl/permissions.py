"""Least-privilege IAM policy for rootctl's operator, generated from what the code declares.

Every module that calls AWS declares `PERMISSIONS` (the API actions it calls) and, when it
works inside root sessions, `TASKS` (the task policies it opens sessions with). Actions made
inside a root session are granted by the task policy, not by the operator's policy, so they
are left out of the operator's policy; `sts:AssumeRoot` is granted only for the declared
tasks, through the `sts:TaskPolicyArn` condition (Cloud Custodian's `permissions` on actions
is the model: the policy is generated from code, never maintained by hand).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rootctl.errors import UsageError
from rootctl.tasks import Task

# The operation modules each command uses. Commands that make no AWS call map to ().
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "status": ("rootctl.aws.session", "rootctl.org.features"),
    "plan": ("rootctl.aws.session", "rootctl.org.features"),
    "apply": ("rootctl.aws.session", "rootctl.org.features", "rootctl.org.apply"),
    "guardrails check": ("rootctl.aws.session", "rootctl.org.features", "rootctl.guardrails.fetch"),
    "audit": ("rootctl.aws.session", "rootctl.org.accounts", "rootctl.credentials.audit"),
    "delete-credentials": (
        "rootctl.aws.session",
        "rootctl.org.accounts",
        "rootctl.credentials.audit",
        "rootctl.credentials.delete",
    ),
    "allow-password-recovery": (
        "rootctl.aws.session",
        "rootctl.org.accounts",
        "rootctl.run",
        "rootctl.credentials.recovery",
    ),
    "enforce": (
        "rootctl.aws.session",
        "rootctl.org.features",  # the organization part: read, then converge as apply does
        "rootctl.org.apply",
        "rootctl.org.accounts",
        "rootctl.run",
        "rootctl.credentials.audit",
        "rootctl.credentials.delete",
        "rootctl.sessions.events",
        "rootctl.enforce.watch",
    ),
    # Opt-in flags of enforce: their own entries, so the pass's policy (and the deployment's)
    # grows only for those who use them: `rootctl permissions enforce "enforce --security-hub"`.
    "enforce --security-hub": ("rootctl.aws.session", "rootctl.integrations.securityhub"),
    "enforce --notify-topic": ("rootctl.integrations.sns",),
    "watch": (
        "rootctl.aws.session",
        "rootctl.org.accounts",
        "rootctl.run",
        "rootctl.sessions.events",
        "rootctl.enforce.watch",
    ),
    "list-locked": ("rootctl.run", "rootctl.sessions.s3", "rootctl.sessions.sqs"),
    "unlock": ("rootctl.run", "rootctl.sessions.s3", "rootctl.sessions.sqs"),
    "restore": ("rootctl.run", "rootctl.sessions.s3", "rootctl.sessions.sqs"),
    "exec": ("rootctl.run", "rootctl.sessions.execute"),
    "events": ("rootctl.aws.session", "rootctl.sessions.events"),
    "request": ("rootctl.aws.session", "rootctl.run", "rootctl.approvals.flow"),
    "approve": ("rootctl.aws.session", "rootctl.approvals.flow"),
    "deny": ("rootctl.aws.session", "rootctl.approvals.flow"),
    "credential-process": ("rootctl.run", "rootctl.approvals.process"),
    "requests": (),
    "guardrails render": (),
    "journal": (),
    "sandbox": (),
    "demo": (),
    "permissions": (),
    "completion": (),
    "schema": (),
}
ROOT_SESSION_SERVICES = ("iam:", "s3:", "sqs:")


@dataclass(frozen=True)
class Requirements:
    """What an operator needs: IAM actions on their own identity, and root-session tasks."""

    actions: frozenset[str] = field(default_factory=frozenset)
    tasks: frozenset[Task] = field(default_factory=frozenset)
    session_actions: frozenset[str] = field(default_factory=frozenset)

    def __or__(self, other: Requirements) -> Requirements:
        return Requirements(
            self.actions | other.actions,
            self.tasks | other.tasks,
            self.session_actions | other.session_actions,
        )


def module_requirements(module_name: str) -> Requirements:
    """What one module declares (PERMISSIONS may be a tuple or a dict of tuples)."""
    module = importlib.import_module(module_name)
    declared: Any = getattr(module, "PERMISSIONS", ())
    actions: set[str] = set()
    for item in declared.values() if isinstance(declared, dict) else [declared]:
        actions.update([item] if isinstance(item, str) else item)
    tasks = frozenset(getattr(module, "TASKS", ()))
    if tasks:
        # Calls made inside root sessions are the task policy's business, not the operator's.
        in_session = {a for a in actions if a.startswith(ROOT_SESSION_SERVICES)}
        operator = actions - in_session - {"sts:AssumeRoot"}
        return Requirements(frozenset(operator), tasks, frozenset(in_session))
    return Requirements(frozenset(actions - {"sts:AssumeRoot"}))


def requirements_for(commands: Iterable[str]) -> Requirements:
    total = Requirements()
    for command in commands:
        modules = COMMAND_MODULES.get(command)
        if modules is None:
            known = ", ".join(sorted(COMMAND_MODULES))
            raise UsageError(f"unknown command {command!r} for permissions; use one of: {known}")
        for name in modules:
            total = total | module_requirements(name)
    return total


def policy_document(requirements: Requirements) -> dict[str, Any]:
    """An IAM identity policy granting exactly the requirements."""
    statements: list[dict[str, Any]] = []
    if requirements.actions:
        statements.append(
            {
                "Sid": "RootctlOperatorCalls",
                "Effect": "Allow",
                "Action": sorted(requirements.actions),
                "Resource": "*",
            }
        )
    if requirements.tasks:
        statements.append(
            {
                "Sid": "RootctlRootSessions",
                "Effect": "Allow",
                "Action": "sts:AssumeRoot",
                "Resource": "arn:aws:iam::*:root",
                "Condition": {
                    "StringEquals": {"sts:TaskPolicyArn": sorted(t.arn for t in requirements.tasks)}
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def commands_with_aws_calls() -> Sequence[str]:
    return [name for name, modules in COMMAND_MODULES.items() if modules]
