"""Break-glass root sessions with two-person approval (`root_sessions.approval`).

A request (task, account, target, reason, duration) is journaled; principals matching
`approvers`, never the requester, approve or deny it; `unlock`, `allow-password-recovery`,
`exec`, `session` and `credential-process` then run it once, exactly for its task and
target, while it is valid. State lives only in journal entries (`model.requests_from`).
"""

from rootctl.approvals.model import (
    ApprovalRefused,
    BreakGlassRequest,
    Decision,
    State,
)
from rootctl.approvals.process import ProcessCredentials

__all__ = ["ApprovalRefused", "BreakGlassRequest", "Decision", "ProcessCredentials", "State"]
