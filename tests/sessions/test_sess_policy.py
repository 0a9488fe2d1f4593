"""Lock analysis and policy validation (no AWS): what counts as a lockout, what a policy is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rootctl.errors import UsageError
from rootctl.sessions.policy import analyze, parse_policy_text, policy_shape_problem, same_policy
from rootctl.sessions.sqs import parse_queue

ACCOUNT = "333333333333"
BUCKET = "arn:aws:s3:::b"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"


def s3_policy(**statement: Any) -> dict[str, Any]:
    base = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET, f"{BUCKET}/*"],
    }
    return {"Version": "2012-10-17", "Statement": [{**base, **statement}]}


def test_deny_everyone_everything_locks_and_names_the_statement() -> None:
    analysis = analyze(s3_policy(Sid="DenyEveryone"), "s3", ACCOUNT, BUCKET)
    assert analysis.locked
    [statement] = analysis.statements
    assert (statement.index, statement.sid) == (0, "DenyEveryone")
    assert "s3:GetObject" in statement.denied_actions and "s3:PutObject" in statement.denied_actions


def test_sqs_principal_map_with_star_locks() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "sqs:*", "Resource": "*"}
        ],
    }
    assert analyze(policy, "sqs", ACCOUNT, QUEUE).locked


@pytest.mark.parametrize(
    ("statement", "locked"),
    [
        # Only plain-HTTP requests are denied: an ordinary request gets in.
        ({"Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
        # Unencrypted uploads only: reads still work.
        (
            {
                "Action": "s3:PutObject",
                "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
            },
            False,
        ),
        # Reads only: not a lockout of writes.
        ({"Action": ["s3:GetObject", "s3:ListBucket"]}, False),
        # Only from a VPC endpoint: from anywhere else nobody gets in.
        ({"Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1234"}}}, True),
        # Only a role that (say) was deleted.
        (
            {
                "Condition": {
                    "ArnNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/gone"}
                }
            },
            True,
        ),
        # The owning account is exempt: not everyone is locked out.
        ({"Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}}, False),
        # A named principal is not "every principal".
        ({"Principal": {"AWS": "arn:aws:iam::999999999999:root"}}, False),
        ({"Effect": "Allow"}, False),
    ],
)
def test_what_counts_as_a_lockout(statement: dict[str, Any], locked: bool) -> None:
    assert analyze(s3_policy(**statement), "s3", ACCOUNT, BUCKET).locked is locked


def test_an_unevaluable_statement_is_a_note_not_a_crash() -> None:
    analysis = analyze(s3_policy(Condition={"NoSuchOperator": {"a": "b"}}), "s3", ACCOUNT, BUCKET)
    assert not analysis.locked
    assert analysis.notes and "could not be evaluated" in analysis.notes[0]


def test_valid_policy_parses() -> None:
    text = json.dumps(s3_policy(Effect="Allow", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert parse_policy_text(text, "p.json")["Version"] == "2012-10-17"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "JSON object"),
        ({"Statement": []}, "Version"),
        ({"Version": "2012-10-17", "Statement": {}}, "non-empty list"),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}], "Extra": 1},
            "unknown top-level",
        ),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}, "Statement[0]: Effect"),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            },
            "Statement[0]: needs exactly one of Principal",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Resource": "*"}],
            },
            "Action or NotAction",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": 3, "Resource": "*"}],
            },
            "Action must be",
        ),
        (
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "*",
                        "Oops": 1,
                    }
                ],
            },
            "unknown key 'Oops'",
        ),
    ],
)
def test_policy_shape_problems_name_the_place(document: Any, problem: str) -> None:
    found = policy_shape_problem(document)
    assert found is not None and problem in found


def test_invalid_json_is_a_usage_error_naming_the_file() -> None:
    with pytest.raises(UsageError, match=r"p\.json: not valid JSON"):
        parse_policy_text("{not json", "p.json")


def test_same_policy_ignores_formatting_and_key_order() -> None:
    assert same_policy('{"a": 1, "b": [1, 2]}', '{ "b":[1,2],"a":1 }')
    assert not same_policy('{"a": 1}', '{"a": 2}')
    assert not same_policy(None, '{"a": 1}')


def test_queue_url_must_be_in_the_account() -> None:
    ref = parse_queue(f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders", ACCOUNT)
    assert (ref.name, ref.region) == ("orders", "eu-west-1")
    with pytest.raises(UsageError, match="not --account"):
        parse_queue("https://sqs.eu-west-1.amazonaws.com/999999999999/orders", ACCOUNT)
    with pytest.raises(UsageError, match="not an SQS queue name"):
        parse_queue("bad name!", ACCOUNT)
