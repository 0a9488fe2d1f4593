"""The compliance controls an enforcement finding supports, each checked against a public source.

Only ids whose number and title were read in a public source are here (docs/reports.md has
the table with the sources). The issue's list named CIS v5.0.0 1.4/1.5 and v6.0.0 2.4/2.5 as
"root access keys / root MFA": the sources say all four are root MFA (1.4/2.4 MFA, 1.5/2.5
hardware MFA); the access-key recommendation is v5.0.0 1.3 (AWS's IAM.4 page) and v7.0.0 2.4.
v6.0.0's access-key number was not found in a source, so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    """One control: `requirement` is how ASFF's Compliance.RelatedRequirements spells it."""

    standard: str
    id: str
    title: str
    source: str

    @property
    def requirement(self) -> str:
        return f"{self.standard}/{self.id}"


_CIS = "CIS AWS Foundations Benchmark"
_SH = "AWS Security Hub"
_SH_IAM = "https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html"
_CLOUDAWARE = "https://ce.prod.cloudaware.com/frameworks"

CENTRAL_ROOT = Control(
    f"{_CIS} v7.0.0",
    "2.1.1",
    "Ensure centralized root access in AWS Organizations",
    "public CIS v7.0.0 implementations (InSpec control C-2.1.1, sspm rule aws-cis-2.1.1)",
)
NO_ROOT_KEY = (
    Control(f"{_CIS} v5.0.0", "1.3", "Ensure no 'root' user account access key exists", _SH_IAM),
    Control(
        f"{_CIS} v7.0.0",
        "2.4",
        "Ensure no 'root' user account access key exists",
        "https://www.tenable.com/audits/items/CIS_Amazon_Web_Services_Foundations_v7.0.0_L1.audit",
    ),
    Control(_SH, "IAM.4", "IAM root user access key should not exist", _SH_IAM),
)
ROOT_MFA = (
    Control(
        f"{_CIS} v5.0.0",
        "1.4",
        "Ensure MFA is enabled for the 'root' user account",
        f"{_CLOUDAWARE}/cis-aws-v5.0.0/01/04",
    ),
    Control(
        f"{_CIS} v5.0.0",
        "1.5",
        "Ensure hardware MFA is enabled for the 'root' user account",
        f"{_CLOUDAWARE}/cis-aws-v5.0.0/01/05",
    ),
    Control(
        f"{_CIS} v6.0.0",
        "2.4",
        "Ensure MFA is enabled for the 'root' user account",
        f"{_CLOUDAWARE}/cis-aws-v7.0.0/02/05/",
    ),
    Control(
        f"{_CIS} v6.0.0",
        "2.5",
        "Ensure hardware MFA is enabled for the 'root' user account",
        f"{_CLOUDAWARE}/cis-aws-v7.0.0/02/06/",
    ),
    Control(_SH, "IAM.6", "Hardware MFA should be enabled for the root user", _SH_IAM),
    Control(_SH, "IAM.9", "MFA should be enabled for the root user", _SH_IAM),
)
ALL = (CENTRAL_ROOT, *NO_ROOT_KEY, *ROOT_MFA)


def controls_for(finding_type: str, kinds: tuple[str, ...] = ()) -> tuple[Control, ...]:
    """The controls a finding counts against.

    Leftover credentials and a kept password count against centralized root access; a
    password (the login profile Security Hub's IAM.6/IAM.9 evaluate) against the root-MFA
    controls, which pass once the member account has no root credentials (AWS's IAM.6/IAM.9
    notes, CIS's "neither possible nor necessary"); access keys, or a call signed with one,
    against the no-root-access-key controls. Who may call AssumeRoot, and with which task,
    is rootctl's own rule: no listed control covers it, so those findings carry none.
    """
    if finding_type in ("assume-root-caller", "assume-root-task", "root-session-outside-rootctl"):
        return ()
    found: list[Control] = [CENTRAL_ROOT]
    if "password" in kinds or finding_type in ("recovery-window", "root-sign-in"):
        found.extend(ROOT_MFA)
    if "access-keys" in kinds or finding_type == "root-credentials-used":
        found.extend(NO_ROOT_KEY)
    return tuple(found)
