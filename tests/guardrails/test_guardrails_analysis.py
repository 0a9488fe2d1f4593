"""Per-account analysis of root sessions against the SCPs on each account's path."""

from __future__ import annotations

from typing import Any

from rootctl.guardrails.analysis import (
    AccountAnalysis,
    Levels,
    analyze,
    analyze_account,
    conflicts,
)
from rootctl.guardrails.evaluate import StatementRef
from rootctl.guardrails.templates import render
from rootctl.tasks import Task, allowed_actions

MANAGEMENT = "111111111111"
PROD = "333333333333"
DEV = "444444444444"
PLAIN = "555555555555"
SANDBOX = "666666666666"

FULL_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ROOT_LEVEL = ("root", [("FullAWSAccess", FULL_ACCESS)])


def path(account: str, *ous: tuple[str, list[tuple[str, dict[str, Any]]]]) -> Levels:
    return [ROOT_LEVEL, *ous, (f"account:{account}", [("FullAWSAccess", FULL_ACCESS)])]


def org() -> dict[str, Levels]:
    """Both templates attached at OUs, as in the sample organization."""
    deny_all_root = render(["deny_actions_as_root"])
    except_sessions = render(["deny_actions_as_root_except_centralized_root"])
    allow_list = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "ec2:*"], "Resource": "*"}],
    }
    return {
        MANAGEMENT: path(MANAGEMENT),
        PROD: path(
            PROD,
            ("ou:/root/prod", [("FullAWSAccess", FULL_ACCESS), ("scp_root_deny", deny_all_root)]),
        ),
        DEV: path(
            DEV,
            ("ou:/root/dev", [("FullAWSAccess", FULL_ACCESS), ("scp_root_ou", except_sessions)]),
        ),
        PLAIN: path(PLAIN),
        SANDBOX: path(SANDBOX, ("ou:/root/sandbox", [("allow-list", allow_list)])),
    }


def test_deny_actions_as_root_blocks_every_task() -> None:
    result = analyze(org(), management_account=MANAGEMENT).account(PROD)
    assert result.blocked_tasks == tuple(Task)
    for task in Task:
        check = result.task(task)
        assert check.blocked
        assert check.blocked_actions == allowed_actions(task)
        assert check.denied_by == StatementRef("scp_root_deny", "DenyActionsAsRootUser", 0)
        assert check.missing_allow_level is None
    assert result.long_term_root_denied
    assert result.long_term_root_denied_by == StatementRef(
        "scp_root_deny", "DenyActionsAsRootUser", 0
    )


def test_except_centralized_root_blocks_no_task_but_long_term_root() -> None:
    result = analyze(org()).account(DEV)
    assert result.blocked_tasks == ()
    assert all(not check.blocked and not check.blocked_actions for check in result.tasks)
    assert result.long_term_root_denied
    assert result.long_term_root_denied_by == StatementRef(
        "scp_root_ou", "DenyActionsAsRootUserExceptCentralizedRoot", 0
    )


def test_no_guardrail_leaves_long_term_root_open() -> None:
    result = analyze(org()).account(PLAIN)
    assert result.blocked_tasks == ()
    assert not result.long_term_root_denied
    assert result.long_term_root_denied_by is None


def test_allow_list_ou_blocks_by_missing_allow() -> None:
    result = analyze(org()).account(SANDBOX)
    assert not result.task(Task.S3_UNLOCK).blocked
    for task in (Task.AUDIT, Task.DELETE, Task.CREATE_PASSWORD, Task.SQS_UNLOCK):
        check = result.task(task)
        assert check.blocked and check.denied_by is None
        assert check.missing_allow_level == "ou:/root/sandbox"
    assert result.long_term_root_denied  # iam:CreateUser is not on the allow-list either


def test_management_account_is_exempt() -> None:
    result = analyze(org(), management_account=MANAGEMENT).account(MANAGEMENT)
    assert result.scp_exempt and result.tasks == () and not result.long_term_root_denied


def test_partial_block_lists_only_the_denied_actions() -> None:
    deny_delete_keys = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeepKeys",
                "Effect": "Deny",
                "Action": "iam:DeleteAccessKey",
                "Resource": "arn:aws:iam::*:root",
            }
        ],
    }
    levels = path(
        PLAIN, ("ou:/root/x", [("FullAWSAccess", FULL_ACCESS), ("keep-keys", deny_delete_keys)])
    )
    result = analyze_account(PLAIN, levels)
    assert result.blocked_tasks == (Task.DELETE,)
    assert result.task(Task.DELETE).blocked_actions == ("iam:DeleteAccessKey",)
    [line] = conflicts(analyze({PLAIN: levels}))
    assert line.startswith(
        f"{PLAIN}: SCP keep-keys (statement KeepKeys) blocks root sessions (delete;"
    )
    assert "delete only iam:DeleteAccessKey" in line


def test_policy_variables_use_the_account() -> None:
    # Deny SQS reads on queues of other accounts: the task's own account passes.
    other_queues = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnQueuesOnly",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}
                },
            }
        ],
    }
    levels = path(PLAIN, ("ou:/root/x", [("FullAWSAccess", FULL_ACCESS), ("own", other_queues)]))
    assert analyze_account(PLAIN, levels).blocked_tasks == ()


def test_unevaluable_scp_is_an_error_value() -> None:
    broken = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEqualz": {"k": "v"}},
            }
        ],
    }
    levels = path(PLAIN, ("ou:/root/x", [("FullAWSAccess", FULL_ACCESS), ("broken", broken)]))
    result = analyze({PLAIN: levels, DEV: org()[DEV]})
    assert result.account(PLAIN) == AccountAnalysis(
        PLAIN, (), long_term_root_denied=False, error="unknown condition operator 'StringEqualz'"
    )
    assert not result.account(DEV).blocked_tasks  # the run continues
    assert conflicts(result) == [
        f"{PLAIN}: could not evaluate its SCPs: unknown condition operator 'StringEqualz'"
    ]


def test_conflict_lines() -> None:
    lines = conflicts(analyze(org(), management_account=MANAGEMENT))
    assert lines == [
        f"{PROD}: SCP scp_root_deny (statement DenyActionsAsRootUser) blocks root sessions "
        "(audit, create-password, delete, s3-unlock, sqs-unlock): exempt AssumeRoot sessions with "
        "Null aws:AssumedRoot, as template deny_actions_as_root_except_centralized_root does",
        f"{SANDBOX}: no SCP at ou:/root/sandbox allows the actions of root sessions "
        "(audit, create-password, delete, sqs-unlock): allow them there (an allow-list SCP must list them)",
    ]
