"""Findings out of one enforcement pass: the Security Hub import and the SNS summary.

What `rootctl enforce --security-hub --notify-topic ARN` sends after a pass, as a library
call, so the Lambda handler sends exactly the same (securityhub.py, sns.py) and says what
happened as a value: the caller decides how to show it (log lines, stderr) and what a
failure means. A dry run sends nothing: its findings describe a pass that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rootctl.api import Rootctl
    from rootctl.enforce.report import EnforcementReport
    from rootctl.integrations.securityhub import ImportResult
    from rootctl.integrations.sns import Topic


@dataclass
class Delivery:
    """What was sent: the import (None: not asked or not reached), the SNS message id
    (None: not sent; `sns_skipped` says it was not worth sending), and one line per
    failure (AWS error codes and messages, cleaned of control characters)."""

    security_hub: ImportResult | None = None
    sns_message_id: str | None = None
    sns_skipped: bool = False
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def deliver(
    rc: Rootctl, report: EnforcementReport, *, security_hub: bool, topic: Topic | None
) -> Delivery:
    """Import the findings and publish the summary, as asked; failures are values: an AWS
    error, and as well a call that got no usable answer (endpoint unreachable, timeout)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from rootctl.errors import error_code
    from rootctl.text import clean

    done = Delivery()
    if not (security_hub or topic):
        return done
    if report.dry_run:
        done.dry_run = True
        return done
    if security_hub:
        from rootctl.integrations.securityhub import import_findings

        try:
            done.security_hub = import_findings(rc.factory, report)
        except (ClientError, BotoCoreError) as exc:
            done.errors.append(f"security hub: {error_code(exc)}: {clean(str(exc))}")
            return done  # as the CLI: no summary after a failed import
        if done.security_hub.failed:
            fid, code, message = done.security_hub.failed[0]
            done.errors.append(
                f"security hub refused {len(done.security_hub.failed)} finding(s); first "
                f"{clean(fid)}: {clean(code)} {clean(message)}"
            )
    if topic is not None:
        from rootctl.integrations.sns import previous_ids, publish, summary, worth_sending

        summary_message = summary(report, previous_ids(rc.journal, report.run_id))
        if not worth_sending(summary_message):
            done.sns_skipped = True
            return done
        try:
            done.sns_message_id = publish(rc.factory, topic, summary_message)
        except (ClientError, BotoCoreError) as exc:
            done.errors.append(f"sns: {error_code(exc)}: {clean(str(exc))}")
    return done
