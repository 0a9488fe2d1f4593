"""SCPs that would block the root sessions the features exist for.

A quick, organization-wide check used by `status` and `plan`: every SCP is evaluated against a
root session of each task (principal `arn:aws:iam::<account>:root`, `aws:AssumedRoot` true,
each action the task policy allows). The per-account path analysis is `rootctl guardrails check`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rootctl.guardrails.evaluate import RequestContext, evaluate_policy
from rootctl.tasks import Task, allowed_actions

if TYPE_CHECKING:
    from rootctl.org.features import OrgState
    from rootctl.org.plan import OrgPlan

_SAMPLE_ACCOUNT = "123456789012"


def blocked_tasks(document: dict[str, Any], name: str) -> list[tuple[Task, str | None]]:
    """Tasks whose root session an SCP denies explicitly, with the denying statement's sid."""
    blocked: list[tuple[Task, str | None]] = []
    for task in Task:
        for action in allowed_actions(task):
            request = RequestContext(
                action=action,
                resource="*",
                context={
                    "aws:PrincipalArn": f"arn:aws:iam::{_SAMPLE_ACCOUNT}:root",
                    "aws:PrincipalAccount": _SAMPLE_ACCOUNT,
                    "aws:ResourceAccount": _SAMPLE_ACCOUNT,
                    "aws:AssumedRoot": True,
                },
            )
            result = evaluate_policy(document, request, name=name)
            if result.explicit_deny is not None:
                blocked.append((task, result.explicit_deny.sid))
                break
    return blocked


def root_session_conflicts(state: OrgState, planned: OrgPlan | None = None) -> list[str]:
    """One line per attached (or about to be attached) SCP that blocks root sessions."""
    documents = {scp.name: (scp.document, set(scp.targets)) for scp in state.scps}
    for change in planned.changes if planned else []:
        if change.kind in ("create-scp", "update-scp"):
            targets = documents.get(change.target, ({}, set()))[1]
            documents[change.target] = (change.after, targets)
        elif change.kind == "attach-scp" and change.target_id:
            documents.setdefault(change.target, ({}, set()))[1].add(change.target_id)
        elif change.kind == "detach-scp" and change.target_id:
            documents.setdefault(change.target, ({}, set()))[1].discard(change.target_id)
    lines: list[str] = []
    for name, (document, targets) in sorted(documents.items()):
        if not targets or not document:
            continue
        blocked = blocked_tasks(document, name)
        if blocked:
            where = ", ".join(sorted(state.path_of(t) for t in targets))
            tasks = ", ".join(t.short_name for t, _ in blocked)
            sid = blocked[0][1] or "no sid"
            lines.append(
                f"SCP {name} (attached to {where}) blocks root sessions ({tasks}; statement {sid}): "
                "use deny_actions_as_root_except_centralized_root instead of deny_actions_as_root"
            )
    return lines
