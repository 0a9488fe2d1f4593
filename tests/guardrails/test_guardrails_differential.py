"""rootctl's policy evaluator against the answers AWS publishes, not against rootctl's own reading.

Each case is an example from AWS's documentation, with the decision the page states, and the
page it comes from. The sandbox enforces SCPs with this evaluator too, so an evaluator bug
would make `guardrails check` and the sandbox agree on a wrong answer: only an outside
reference can catch it. Every condition operator conditions.py evaluates has a case
(test_every_operator_has_a_case keeps it that way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rootctl.guardrails import conditions
from rootctl.guardrails.evaluate import RequestContext, evaluate_policy, evaluate_scps

OPS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
MULTI = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html"
LOGIC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policies_evaluation.html"
NOT_ACTION = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"
)
VARIABLES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"
SCP_EVAL = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"


@dataclass(frozen=True)
class Case:
    """One published example: a condition (or a whole statement) and what AWS says it does."""

    name: str
    source: str
    condition: dict[str, Any]
    context: dict[str, Any]
    matches: bool
    action: str = "s3:GetObject"
    resource: str = "arn:aws:s3:::bucket/key"
    statement: dict[str, Any] = field(default_factory=dict)
    version: str = "2012-10-17"


def _tag(value: str) -> dict[str, Any]:
    return {"aws:PrincipalTag/job-category": value}


CASES = [
    # --- string operators (OPS, "String condition operators" and its examples)
    Case(
        "StringEquals matches exactly",
        OPS,
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        _tag("iamuser-admin"),
        True,
    ),
    Case(
        "StringEquals is case sensitive",
        OPS,
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        _tag("IAMUser-Admin"),
        False,
    ),
    Case(
        "StringEquals: an absent key does not match",
        OPS,
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {},
        False,
    ),
    Case(
        "StringNotEquals: another value",
        OPS,
        {"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        _tag("dev"),
        True,
    ),
    Case(
        "StringNotEquals: an absent key evaluates to true",
        OPS,
        {"StringNotEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {},
        True,
    ),
    Case(
        "StringEqualsIgnoreCase ignores case",
        OPS,
        {"StringEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "IAMUser-Admin"}},
        _tag("iamuser-admin"),
        True,
    ),
    Case(
        "StringNotEqualsIgnoreCase",
        OPS,
        {"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/job-category": "IAMUser-Admin"}},
        _tag("iamuser-admin"),
        False,
    ),
    Case(
        "StringLike with a policy variable",
        OPS,
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/alice/", "aws:username": "alice"},
        True,
    ),
    Case(
        "StringLike: another user's prefix",
        OPS,
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/bob/", "aws:username": "alice"},
        False,
    ),
    Case(
        "StringLike: * spans characters, ? one",
        OPS,
        {"StringLike": {"aws:PrincipalTag/job-category": "iamuser-?dmin*"}},
        _tag("iamuser-admin-2"),
        True,
    ),
    Case(
        "StringNotLike",
        OPS,
        {"StringNotLike": {"aws:PrincipalTag/job-category": "iamuser-*"}},
        _tag("iamuser-admin"),
        False,
    ),
    Case(
        "StringNotLike: an absent key evaluates to true",
        OPS,
        {"StringNotLike": {"aws:PrincipalTag/job-category": "iamuser-*"}},
        {},
        True,
    ),
    # --- numeric operators (OPS, "Numeric condition operators": s3:max-keys example)
    Case(
        "NumericLessThanEquals at the bound",
        OPS,
        {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        True,
    ),
    Case(
        "NumericLessThanEquals above the bound",
        OPS,
        {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "11"},
        False,
    ),
    Case(
        "NumericLessThanEquals: an absent key does not match",
        OPS,
        {"NumericLessThanEquals": {"s3:max-keys": "10"}},
        {},
        False,
    ),
    Case(
        "NumericEquals",
        OPS,
        {"NumericEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10.0"},
        True,
    ),
    Case(
        "NumericNotEquals",
        OPS,
        {"NumericNotEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "9"},
        True,
    ),
    Case(
        "NumericLessThan",
        OPS,
        {"NumericLessThan": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        False,
    ),
    Case(
        "NumericGreaterThan",
        OPS,
        {"NumericGreaterThan": {"s3:max-keys": "10"}},
        {"s3:max-keys": "11"},
        True,
    ),
    Case(
        "NumericGreaterThanEquals",
        OPS,
        {"NumericGreaterThanEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "9"},
        False,
    ),
    # --- date operators (OPS, "Date condition operators": aws:TokenIssueTime, ISO 8601 or epoch)
    Case(
        "DateGreaterThan, ISO 8601",
        OPS,
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2020-01-01T00:00:02Z"},
        True,
    ),
    Case(
        "DateGreaterThan, epoch in the policy",
        OPS,
        {"DateGreaterThan": {"aws:TokenIssueTime": "1577836801"}},
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
        False,
    ),
    Case(
        "DateEquals",
        OPS,
        {"DateEquals": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}},
        {"aws:CurrentTime": "2019-07-16T12:00:00Z"},
        True,
    ),
    Case(
        "DateNotEquals",
        OPS,
        {"DateNotEquals": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}},
        {"aws:CurrentTime": "2019-07-16T12:00:01Z"},
        True,
    ),
    Case(
        "DateLessThan",
        OPS,
        {"DateLessThan": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}},
        {"aws:CurrentTime": "2019-07-16T11:59:59Z"},
        True,
    ),
    Case(
        "DateLessThanEquals",
        OPS,
        {"DateLessThanEquals": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}},
        {"aws:CurrentTime": "2019-07-16T12:00:01Z"},
        False,
    ),
    Case(
        "DateGreaterThanEquals",
        OPS,
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2019-07-16T12:00:00Z"}},
        {"aws:CurrentTime": "2019-07-16T12:00:00Z"},
        True,
    ),
    # --- Bool (OPS, "Boolean condition operators": aws:SecureTransport)
    Case(
        "Bool true",
        OPS,
        {"Bool": {"aws:SecureTransport": "true"}},
        {"aws:SecureTransport": True},
        True,
    ),
    Case(
        "Bool false against true",
        OPS,
        {"Bool": {"aws:SecureTransport": "false"}},
        {"aws:SecureTransport": "true"},
        False,
    ),
    Case(
        "Bool: an absent key does not match",
        OPS,
        {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        {},
        False,
    ),
    Case(
        "BoolIfExists: an absent key matches",
        OPS,
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        {},
        True,
    ),
    # --- BinaryEquals (OPS, "Binary condition operators": base64 value)
    Case(
        "BinaryEquals",
        OPS,
        {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
        {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
        True,
    ),
    Case(
        "BinaryEquals, another value",
        OPS,
        {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
        {"key": "b3RoZXI="},
        False,
    ),
    # --- IP address (OPS, "IP address condition operators": 203.0.113.0/24, 2001:DB8:1234:5678::/64)
    Case(
        "IpAddress inside the range",
        OPS,
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "203.0.113.5"},
        True,
    ),
    Case(
        "IpAddress outside the range",
        OPS,
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "198.51.100.1"},
        False,
    ),
    Case(
        "IpAddress, IPv6",
        OPS,
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
        {"aws:SourceIp": "2001:db8:1234:5678::1"},
        True,
    ),
    Case(
        "NotIpAddress",
        OPS,
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "198.51.100.1"},
        True,
    ),
    # --- ARN (OPS, "Amazon Resource Name (ARN) condition operators": aws:SourceArn of an SNS topic)
    Case(
        "ArnEquals",
        OPS,
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"},
        True,
    ),
    Case(
        "ArnLike with wildcards per segment",
        OPS,
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:alerts"},
        True,
    ),
    Case(
        "ArnLike: another account",
        OPS,
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:eu-west-1:210987654321:alerts"},
        False,
    ),
    Case(
        "ArnNotEquals",
        OPS,
        {"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:OTHER"},
        True,
    ),
    Case(
        "ArnNotLike",
        OPS,
        {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}},
        {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"},
        False,
    ),
    # --- ...IfExists (OPS, "...IfExists condition operators": ec2:InstanceType example)
    Case(
        "StringLikeIfExists: an absent key matches",
        OPS,
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {},
        True,
    ),
    Case(
        "StringLikeIfExists: a present key is compared",
        OPS,
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {"ec2:InstanceType": "m4.large"},
        False,
    ),
    # --- Null (OPS, "Condition operator to check existence of condition keys")
    Case("Null true: the key is absent", OPS, {"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    Case(
        "Null true: the key is present",
        OPS,
        {"Null": {"aws:TokenIssueTime": "true"}},
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
        False,
    ),
    Case(
        "Null false: the key is present",
        OPS,
        {"Null": {"aws:TokenIssueTime": "false"}},
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
        True,
    ),
    # --- set operators (MULTI: aws:TagKeys examples)
    Case(
        "ForAnyValue: one request value matches",
        MULTI,
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment", "owner"]},
        True,
    ),
    Case(
        "ForAnyValue: an absent key does not match",
        MULTI,
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {},
        False,
    ),
    Case(
        "ForAllValues: every request value must match",
        MULTI,
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment", "owner"]},
        False,
    ),
    Case(
        "ForAllValues: all match",
        MULTI,
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment"]},
        True,
    ),
    Case(
        "ForAllValues: an absent key evaluates to true",
        MULTI,
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {},
        True,
    ),
    Case(
        "ForAllValues with StringNotEquals",
        MULTI,
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["environment"]}},
        {"aws:TagKeys": ["owner", "team"]},
        True,
    ),
    Case(
        "ForAnyValue with StringNotLike",
        MULTI,
        {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["env*"]}},
        {"aws:TagKeys": ["environment", "team"]},
        True,
    ),
    # --- evaluation of a condition block (OPS, "The condition block": AND across operators and keys, OR across values)
    Case(
        "AND across keys",
        OPS,
        {
            "StringEquals": {
                "aws:PrincipalTag/job-category": "iamuser-admin",
                "aws:RequestedRegion": "us-east-1",
            }
        },
        {**_tag("iamuser-admin"), "aws:RequestedRegion": "eu-west-1"},
        False,
    ),
    Case(
        "OR across values",
        OPS,
        {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
        {"aws:RequestedRegion": "eu-west-1"},
        True,
    ),
    Case(
        "condition keys are case insensitive",
        OPS,
        {"StringEquals": {"AWS:RequestedRegion": "us-east-1"}},
        {"aws:requestedregion": "us-east-1"},
        True,
    ),
    # --- statement elements (NOT_ACTION, VARIABLES)
    Case(
        "NotAction: a listed action is excluded",
        NOT_ACTION,
        {},
        {},
        False,
        action="iam:ListUsers",
        statement={"NotAction": "iam:*", "Resource": "*"},
    ),
    Case(
        "NotAction: any other action matches",
        NOT_ACTION,
        {},
        {},
        True,
        action="s3:GetObject",
        statement={"NotAction": "iam:*", "Resource": "*"},
    ),
    Case(
        "action names are case insensitive",
        NOT_ACTION,
        {},
        {},
        True,
        action="S3:getobject",
        statement={"Action": "s3:GetObject", "Resource": "*"},
    ),
    Case(
        "NotResource",
        NOT_ACTION,
        {},
        {},
        False,
        resource="arn:aws:s3:::logs/x",
        statement={"Action": "s3:*", "NotResource": "arn:aws:s3:::logs/*"},
    ),
    Case(
        "variables in Resource (Version 2012-10-17)",
        VARIABLES,
        {},
        {"aws:username": "alice"},
        True,
        resource="arn:aws:s3:::bucket/home/alice/a",
        statement={"Action": "s3:*", "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*"},
    ),
    Case(
        "no variables under Version 2008-10-17: literal text",
        VARIABLES,
        {},
        {"aws:username": "alice"},
        False,
        resource="arn:aws:s3:::bucket/home/alice/a",
        statement={"Action": "s3:*", "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*"},
        version="2008-10-17",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_published_example(case: Case) -> None:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", **case.statement}
    if "NotAction" in statement:
        statement.pop("Action")
    if "NotResource" in statement:
        statement.pop("Resource")
    if case.condition:
        statement["Condition"] = case.condition
    document = {"Version": case.version, "Statement": [statement]}
    result = evaluate_policy(
        document, RequestContext(case.action, case.resource, case.context), name=case.name
    )
    assert (result.allow is not None) is case.matches, case.source


def test_every_operator_has_a_case() -> None:
    """New operators in conditions.py need a published example here before they ship."""
    used = {
        name.split(":")[-1].lower().removesuffix("ifexists")
        for case in CASES
        for name in case.condition
    }
    assert set(conditions._OPERATORS) | {"null"} <= used


def test_explicit_deny_overrides_allow() -> None:
    """LOGIC: "An explicit deny in any of these policies overrides the allow"."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
        ],
    }
    result = evaluate_policy(document, RequestContext("s3:DeleteBucket", "*", {}))
    assert result.explicit_deny is not None and result.allow is not None
    decision = evaluate_scps(
        [("root", [("p", document)])], RequestContext("s3:DeleteBucket", "*", {})
    )
    assert not decision.allowed, LOGIC


FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ALLOW_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
}
DENY_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
}

# SCP_EVAL's scenarios: an SCP at root, at the OU and at the account; every level must allow
# ("for a permission to be allowed for a specific account, there must be an explicit Allow
# statement at every level from the root through each OU in the direct path to the account"),
# and a Deny at any level denies ("... denied ... if any SCP in the path denies it").
SCP_CASES = [
    ("FullAWSAccess everywhere allows", [FULL], [FULL], [FULL], "s3:GetObject", True),
    ("a Deny at the OU denies", [FULL], [FULL, DENY_S3], [FULL], "s3:GetObject", False),
    (
        "a Deny at the OU leaves other services",
        [FULL],
        [FULL, DENY_S3],
        [FULL],
        "ec2:RunInstances",
        True,
    ),
    (
        "an allow list at the OU limits the account",
        [FULL],
        [ALLOW_EC2],
        [FULL],
        "s3:GetObject",
        False,
    ),
    (
        "an allow list at the OU allows its actions",
        [FULL],
        [ALLOW_EC2],
        [FULL],
        "ec2:RunInstances",
        True,
    ),
    ("no allow at the account level denies", [FULL], [FULL], [ALLOW_EC2], "s3:GetObject", False),
    ("no allow at the root denies", [ALLOW_EC2], [FULL], [FULL], "s3:GetObject", False),
]


@pytest.mark.parametrize(
    ("name", "root", "ou", "account", "action", "allowed"), SCP_CASES, ids=[c[0] for c in SCP_CASES]
)
def test_scp_scenario(
    name: str, root: list[Any], ou: list[Any], account: list[Any], action: str, allowed: bool
) -> None:
    levels = [
        (level, [(f"{level}-{i}", doc) for i, doc in enumerate(docs)])
        for level, docs in (
            ("root", root),
            ("ou:/root/prod", ou),
            ("account:111122223333", account),
        )
    ]
    decision = evaluate_scps(levels, RequestContext(action, "*", {}))
    assert decision.allowed is allowed, SCP_EVAL
