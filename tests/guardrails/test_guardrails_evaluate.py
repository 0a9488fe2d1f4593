"""rootctl.guardrails.evaluate against examples from AWS's documentation.

Sources (cited per test):
[OPS]   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
[MULTI] https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
[MVEX]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html
[SVMV]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
[VARS]  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
[CK]    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html (aws:AssumedRoot)
[SCP]   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rootctl.guardrails.evaluate import (
    PolicyError,
    PolicyResult,
    RequestContext,
    StatementRef,
    evaluate_policy,
    evaluate_scps,
)
from rootctl.tasks import Task, task_policy_document

ACCOUNT = "111122223333"
OTHER = "444455556666"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Admin"

FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

# [CK] AWS's example SCP, verbatim: denies long-term root credentials, not AssumeRoot sessions.
AWS_DENY_ROOT_EXCEPT_ASSUMED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]},
                "Null": {"aws:AssumedRoot": "true"},
            },
        }
    ],
}

# Nuvibit's scp_deny_actions_as_root.json (reference doc section 5): blocks every root use.
DENY_ACTIONS_AS_ROOT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyActionsAsRootUser",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
        }
    ],
}


def root_session(action: str, resource: str = "*", **extra: Any) -> RequestContext:
    """A request from an AssumeRoot session in ACCOUNT."""
    context: dict[str, Any] = {
        "aws:PrincipalArn": ROOT_ARN,
        "aws:AssumedRoot": True,
        "aws:PrincipalAccount": ACCOUNT,
        "aws:ResourceAccount": ACCOUNT,
    }
    context.update(extra)
    return RequestContext(action, resource, context)


def long_term_root(action: str, resource: str = "*") -> RequestContext:
    return RequestContext(
        action,
        resource,
        {"aws:PrincipalArn": ROOT_ARN, "aws:PrincipalAccount": ACCOUNT},
    )


def deny_sid(doc: dict[str, Any], request: RequestContext) -> str | None:
    ref = evaluate_policy(doc, request).explicit_deny
    return None if ref is None else (ref.sid or f"#{ref.index}")


def cond(condition: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    """An Allow-all policy whose only statement carries `condition`."""
    return {
        "Version": version,
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}],
    }


def holds(condition: dict[str, Any], context: dict[str, Any], version: str = "2012-10-17") -> bool:
    request = RequestContext("s3:GetObject", "*", context)
    return evaluate_policy(cond(condition, version), request).allow is not None


# ----------------------------------------------------------------------------- root SCPs


class TestRootScps:
    def test_aws_example_denies_long_term_root(self) -> None:
        result = evaluate_policy(
            AWS_DENY_ROOT_EXCEPT_ASSUMED, long_term_root("iam:CreateUser"), "scp"
        )
        assert result == PolicyResult(explicit_deny=StatementRef("scp", None, 0), allow=None)

    def test_aws_example_lets_assume_root_sessions_through(self) -> None:
        for action in ("iam:ListAccessKeys", "s3:DeleteBucketPolicy", "sqs:SetQueueAttributes"):
            assert (
                evaluate_policy(AWS_DENY_ROOT_EXCEPT_ASSUMED, root_session(action)).explicit_deny
                is None
            )

    def test_aws_example_ignores_non_root_principals(self) -> None:
        request = RequestContext("iam:CreateUser", "*", {"aws:PrincipalArn": ROLE_ARN})
        assert evaluate_policy(AWS_DENY_ROOT_EXCEPT_ASSUMED, request).explicit_deny is None

    def test_assumed_root_false_is_present_so_not_null(self) -> None:
        # Null tests presence, not truth [OPS]: a present "false" is not null.
        request = long_term_root("iam:CreateUser")
        request = RequestContext(request.action, "*", {**request.context, "aws:AssumedRoot": False})
        assert evaluate_policy(AWS_DENY_ROOT_EXCEPT_ASSUMED, request).explicit_deny is None

    def test_deny_actions_as_root_blocks_both(self) -> None:
        assert (
            deny_sid(DENY_ACTIONS_AS_ROOT, long_term_root("iam:CreateUser"))
            == "DenyActionsAsRootUser"
        )
        assert (
            deny_sid(DENY_ACTIONS_AS_ROOT, root_session("iam:ListAccessKeys", ROOT_ARN))
            == "DenyActionsAsRootUser"
        )

    def test_condition_key_names_are_case_insensitive(self) -> None:
        request = RequestContext("iam:CreateUser", "*", {"AWS:PRINCIPALARN": ROOT_ARN})
        assert deny_sid(AWS_DENY_ROOT_EXCEPT_ASSUMED, request) == "#0"
        request = RequestContext(
            "iam:CreateUser", "*", {"aws:principalarn": ROOT_ARN, "AWS:assumedroot": "true"}
        )
        assert deny_sid(AWS_DENY_ROOT_EXCEPT_ASSUMED, request) is None


# ----------------------------------------------------------------------------- task policies


class TestTaskPolicies:
    def test_audit_allows_listing_keys_on_root(self) -> None:
        doc = task_policy_document(Task.AUDIT)
        for action in (
            "iam:ListAccessKeys",
            "iam:GetLoginProfile",
            "iam:ListMFADevices",
            "iam:GetUser",
        ):
            assert deny_sid(doc, root_session(action, ROOT_ARN)) is None

    def test_audit_denies_listing_keys_of_a_user(self) -> None:
        doc = task_policy_document(Task.AUDIT)
        assert (
            deny_sid(doc, root_session("iam:ListAccessKeys", USER_ARN))
            == "DenyAuditingCredentialsOnNonRootUserResource"
        )

    def test_audit_allows_account_summary_and_denies_everything_else(self) -> None:
        doc = task_policy_document(Task.AUDIT)
        assert deny_sid(doc, root_session("iam:GetAccountSummary")) is None
        assert (
            deny_sid(doc, root_session("iam:DeleteAccessKey", ROOT_ARN))
            == "DenyAllOtherActionsOnAnyResource"
        )
        assert (
            deny_sid(doc, root_session("s3:ListAllMyBuckets")) == "DenyAllOtherActionsOnAnyResource"
        )

    def test_actions_match_case_insensitively(self) -> None:
        doc = task_policy_document(Task.AUDIT)
        assert deny_sid(doc, root_session("IAM:listaccesskeys", ROOT_ARN)) is None

    def test_delete_policy_denies_account_summary(self) -> None:
        doc = task_policy_document(Task.DELETE)
        assert (
            deny_sid(doc, root_session("iam:GetAccountSummary"))
            == "DenyAllOtherActionsOnAnyResource"
        )
        assert deny_sid(doc, root_session("iam:DeleteAccessKey", ROOT_ARN)) is None
        assert deny_sid(doc, root_session("iam:DeleteVirtualMFADevice", ROOT_ARN)) is None
        assert deny_sid(doc, root_session("iam:DeleteAccessKey", USER_ARN)) == (
            "DenyDeletingRootUserCredentialsOnNonRootUserResource"
        )

    def test_create_password_only_on_root(self) -> None:
        doc = task_policy_document(Task.CREATE_PASSWORD)
        assert deny_sid(doc, root_session("iam:CreateLoginProfile", ROOT_ARN)) is None
        assert (
            deny_sid(doc, root_session("iam:CreateLoginProfile", USER_ARN))
            == "DenyCreatingPasswordOnNonRootUserResource"
        )
        assert (
            deny_sid(doc, root_session("iam:DeleteLoginProfile", ROOT_ARN))
            == "DenyAllOtherActionsOnAnyResource"
        )

    def test_s3_unlock_needs_root_caller(self) -> None:
        doc = task_policy_document(Task.S3_UNLOCK)
        bucket = "arn:aws:s3:::locked-bucket"
        assert deny_sid(doc, root_session("s3:DeleteBucketPolicy", bucket)) is None
        assert deny_sid(doc, root_session("s3:ListAllMyBuckets")) is None
        as_role = RequestContext("s3:DeleteBucketPolicy", bucket, {"aws:PrincipalArn": ROLE_ARN})
        assert deny_sid(doc, as_role) == "DenyManagingBucketPolicyForNonRootCallers"
        # StringNotLike on an absent key holds [OPS]: no principal ARN means "not root".
        assert deny_sid(doc, RequestContext("s3:DeleteBucketPolicy", bucket, {})) == (
            "DenyManagingBucketPolicyForNonRootCallers"
        )
        assert (
            deny_sid(doc, root_session("s3:DeleteBucket", bucket))
            == "DenyAllOtherActionsOnAnyResource"
        )

    def test_sqs_unlock(self) -> None:
        doc = task_policy_document(Task.SQS_UNLOCK)
        own = f"arn:aws:sqs:us-east-1:{ACCOUNT}:locked"
        foreign = f"arn:aws:sqs:us-east-1:{OTHER}:theirs"
        assert deny_sid(doc, root_session("sqs:SetQueueAttributes", own)) is None
        assert deny_sid(doc, root_session("sqs:GetQueueAttributes", own)) is None
        assert (
            deny_sid(doc, root_session("sqs:RemovePermission", own))
            == "DenyAllOtherActionsOnAnyResource"
        )
        other = root_session("sqs:GetQueueAttributes", foreign, **{"aws:ResourceAccount": OTHER})
        assert deny_sid(doc, other) == "DenyGettingQueueAttributesOnNonOwnQueue"

    def test_sqs_unlock_if_exists_on_absent_resource_account(self) -> None:
        # StringNotEqualsIfExists holds when the key is absent [OPS] (IfExists section).
        doc = task_policy_document(Task.SQS_UNLOCK)
        request = root_session("sqs:GetQueueAttributes", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")
        context = {k: v for k, v in request.context.items() if k != "aws:ResourceAccount"}
        request = RequestContext(request.action, request.resource, context)
        assert deny_sid(doc, request) == "DenyGettingQueueAttributesOnNonOwnQueue"

    def test_sqs_unlock_denies_non_root(self) -> None:
        doc = task_policy_document(Task.SQS_UNLOCK)
        request = RequestContext("sqs:ListQueues", "*", {"aws:PrincipalArn": ROLE_ARN})
        assert deny_sid(doc, request) == "DenyActionsForNonRootUser"


# ----------------------------------------------------------------------------- set operators


class TestSetOperators:
    # [MVEX] "Deny policy with condition set operator ForAllValues", the documented table.
    DENY_TAGS = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRestrictedTags",
                "Effect": "Deny",
                "Action": ["iam:Tag*", "iam:UnTag*"],
                "Resource": ["*"],
                "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}},
            }
        ],
    }

    @pytest.mark.parametrize(
        ("tag_keys", "denied"),
        [
            (["key1:legal"], False),
            (["key1:hr", "key1:personnel"], False),
            (["key2:audit"], True),
            (None, True),
        ],
    )
    def test_for_all_values_string_not_like(self, tag_keys: list[str] | None, denied: bool) -> None:
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        request = RequestContext("iam:TagUser", "*", context)
        assert (deny_sid(self.DENY_TAGS, request) is not None) is denied

    @pytest.mark.parametrize(
        ("tag_keys", "matches"),
        [
            (["environment"], True),
            (["environment", "cost-center"], True),
            (["environment", "dept"], False),
            ([], True),
            (None, True),
        ],
    )
    def test_for_all_values_string_equals(self, tag_keys: list[str] | None, matches: bool) -> None:
        # [SVMV]: true when every request value matches a policy value, or when there are none.
        condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        assert holds(condition, context) is matches

    @pytest.mark.parametrize(
        ("tag_keys", "matches"),
        [
            (["environment"], True),
            (["environment", "dept"], True),
            (["dept"], False),
            ([], False),
            (None, False),
        ],
    )
    def test_for_any_value_string_equals(self, tag_keys: list[str] | None, matches: bool) -> None:
        # [SVMV]: true when any request value matches; false when the key is absent.
        condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        assert holds(condition, context) is matches

    def test_for_any_value_negated(self) -> None:
        # Negated: a request value "matches" when it equals none of the policy values (NOR) [MULTI].
        condition = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
        assert holds(condition, {"aws:TagKeys": ["environment", "dept"]})
        assert not holds(condition, {"aws:TagKeys": ["environment", "cost-center"]})
        assert not holds(condition, {})

    def test_null_false_on_empty_list(self) -> None:
        # [MVEX]: Null false guards ForAllValues against a missing or empty key.
        assert not holds({"Null": {"aws:TagKeys": "false"}}, {"aws:TagKeys": []})
        assert holds({"Null": {"aws:TagKeys": "false"}}, {"aws:TagKeys": ["a"]})


# ----------------------------------------------------------------------------- IfExists, negation


class TestIfExistsAndAbsentKeys:
    # [OPS] ...IfExists example: "StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}
    IF_EXISTS = {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}

    def test_if_exists_present(self) -> None:
        assert holds(self.IF_EXISTS, {"ec2:InstanceType": "m3.large"})
        assert not holds(self.IF_EXISTS, {"ec2:InstanceType": "c4.large"})

    def test_if_exists_absent_is_true(self) -> None:
        assert holds(self.IF_EXISTS, {})

    def test_absent_key_positive_false_negated_true(self) -> None:
        # [OPS] "Important": absent key -> false, except negated operators which are true.
        assert not holds({"StringEquals": {"aws:username": "john"}}, {})
        assert holds({"StringNotEquals": {"aws:username": "john"}}, {})
        assert holds({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}, {})
        assert holds({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {})
        assert holds({"StringNotEqualsIfExists": {"aws:username": "john"}}, {})

    def test_negated_values_are_nor(self) -> None:
        # [MULTI]: a negated operator with several values is a logical NOR.
        condition = {"StringNotEquals": {"aws:username": ["john", "mary"]}}
        assert not holds(condition, {"aws:username": "john"})
        assert holds(condition, {"aws:username": "bob"})

    def test_and_across_operators_and_keys_or_across_values(self) -> None:
        # [MULTI]
        condition = {
            "StringEquals": {
                "aws:PrincipalTag/department": ["finance", "hr"],
                "aws:PrincipalTag/role": "audit",
            },
            "ArnLike": {
                "aws:PrincipalArn": [
                    "arn:aws:iam::222222222222:user/Ana",
                    "arn:aws:iam::222222222222:user/Mary",
                ]
            },
        }
        good = {
            "aws:PrincipalTag/department": "hr",
            "aws:PrincipalTag/role": "audit",
            "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Mary",
        }
        assert holds(condition, good)
        assert not holds(condition, {**good, "aws:PrincipalTag/role": "admin"})
        assert not holds(
            condition, {**good, "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Bob"}
        )


# ----------------------------------------------------------------------------- other operators


class TestOperators:
    def test_string_case_rules(self) -> None:
        # [OPS] StringEquals is case-sensitive; StringEqualsIgnoreCase is not.
        assert not holds({"StringEquals": {"aws:username": "john"}}, {"aws:username": "John"})
        assert holds({"StringEqualsIgnoreCase": {"aws:username": "john"}}, {"aws:username": "John"})
        assert not holds(
            {"StringNotEqualsIgnoreCase": {"aws:username": "john"}}, {"aws:username": "JOHN"}
        )
        assert not holds({"StringLike": {"aws:username": "jo*"}}, {"aws:username": "John"})

    def test_string_like_wildcards(self) -> None:
        assert holds(
            {"StringLike": {"s3:prefix": "home/?ohn/*"}}, {"s3:prefix": "home/john/docs/a"}
        )
        assert not holds(
            {"StringLike": {"s3:prefix": "home/?ohn/*"}}, {"s3:prefix": "home/jjohn/a"}
        )
        # StringEquals has no wildcards.
        assert not holds({"StringEquals": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/x"})
        assert holds({"StringEquals": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/*"})

    def test_bool(self) -> None:
        # [OPS] Bool example: deny when aws:SecureTransport is "false".
        assert holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False})
        assert holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "True"})
        assert not holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": True})
        assert holds(
            {"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:MultiFactorAuthPresent": "true"}
        )
        assert holds({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {})

    def test_numeric(self) -> None:
        # [OPS] "NumericLessThanEquals": {"s3:max-keys": "10"}
        assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
        assert not holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"})
        assert holds({"NumericGreaterThan": {"k": 1.5}}, {"k": "2"})
        assert holds({"NumericNotEquals": {"k": ["1", "2"]}}, {"k": "3"})
        assert not holds({"NumericEquals": {"k": "1"}}, {"k": "one"})

    def test_dates(self) -> None:
        # [OPS] "DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}
        condition = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}
        assert holds(condition, {"aws:TokenIssueTime": "2020-06-01T00:00:00Z"})
        assert not holds(condition, {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"})
        assert holds(
            {"DateEquals": {"aws:CurrentTime": "1577836800"}},
            {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        )
        assert holds(
            {"DateLessThan": {"aws:CurrentTime": "2020-01-01"}},
            {"aws:CurrentTime": "2019-12-31T12:00:00+00:00"},
        )
        assert not holds(
            {"DateLessThan": {"aws:CurrentTime": "2020-01-01"}}, {"aws:CurrentTime": "not-a-date"}
        )

    def test_ip_address(self) -> None:
        # [OPS] "IpAddress": {"aws:SourceIp": "203.0.113.0/24"} and IPv6 "2001:DB8:1234:5678::/64".
        condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
        assert holds(condition, {"aws:SourceIp": "203.0.113.9"})
        assert holds(condition, {"aws:SourceIp": "2001:db8:1234:5678::1"})
        assert not holds(condition, {"aws:SourceIp": "198.51.100.1"})
        assert holds(
            {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}
        )
        assert not holds(condition, {"aws:SourceIp": "garbage"})

    def test_binary_equals(self) -> None:
        # [OPS] "BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}
        condition = {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}
        assert holds(condition, {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="})
        assert holds(condition, {"key": "BinaryValueInBase64"})
        assert not holds(condition, {"key": "other"})

    def test_arn_like_is_segment_wise(self) -> None:
        # [OPS] ARN operators match each of the six colon-delimited segments separately.
        condition = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
        assert holds(condition, {"aws:PrincipalArn": ROOT_ARN})
        assert not holds(condition, {"aws:PrincipalArn": ROLE_ARN})
        # A `*` cannot swallow a colon in the account segment; StringLike's can.
        sneaky = {"aws:PrincipalArn": "arn:aws:iam::1:x:root"}
        assert not holds(condition, sneaky)
        assert holds({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}, sneaky)
        # The resource segment keeps its colons.
        log = {"aws:SourceArn": "arn:aws:logs:us-east-1:111122223333:log-group:app:*"}
        assert holds({"ArnEquals": {"aws:SourceArn": "arn:aws:logs:*:*:log-group:app:*"}}, log)
        assert not holds(
            {"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:root"}}, {"aws:SourceArn": "not-an-arn"}
        )
        assert holds(
            {"ArnNotLike": {"aws:SourceArn": "arn:aws:iam::*:root"}},
            {"aws:SourceArn": "not-an-arn"},
        )

    def test_null(self) -> None:
        assert holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
        assert not holds(
            {"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}
        )
        assert holds({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "x"})

    def test_malformed_policies_raise_policy_error(self) -> None:
        with pytest.raises(PolicyError, match="unknown condition operator"):
            holds({"StringEqualz": {"k": "v"}}, {"k": "v"})
        with pytest.raises(PolicyError, match="IfExists"):
            holds({"NullIfExists": {"k": "true"}}, {})
        both = {
            "Statement": [{"Effect": "Deny", "Action": "*", "NotAction": "s3:*", "Resource": "*"}]
        }
        with pytest.raises(PolicyError, match="not both"):
            evaluate_policy(both, long_term_root("s3:GetObject"))
        bad_effect = {"Statement": [{"Effect": "deny", "Action": "*", "Resource": "*"}]}
        with pytest.raises(PolicyError, match="Effect"):
            evaluate_policy(bad_effect, long_term_root("s3:GetObject"))


# ----------------------------------------------------------------------------- policy variables


class TestPolicyVariables:
    def test_variable_in_resource(self) -> None:
        # [VARS] "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"
        doc = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*",
                }
            ],
        }
        own = RequestContext(
            "s3:GetObject", "arn:aws:s3:::bucket/home/john/a.txt", {"aws:username": "john"}
        )
        other = RequestContext(
            "s3:GetObject", "arn:aws:s3:::bucket/home/mary/a.txt", {"aws:username": "john"}
        )
        anonymous = RequestContext("s3:GetObject", "arn:aws:s3:::bucket/home/john/a.txt", {})
        assert evaluate_policy(doc, own).allow is not None
        assert evaluate_policy(doc, other).allow is None
        assert evaluate_policy(doc, anonymous).allow is None  # unresolvable: matches nothing

    def test_variable_in_condition(self) -> None:
        condition = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
        assert holds(condition, {"aws:ResourceAccount": ACCOUNT, "aws:PrincipalAccount": ACCOUNT})
        assert not holds(condition, {"aws:ResourceAccount": OTHER, "aws:PrincipalAccount": ACCOUNT})
        assert not holds(condition, {"aws:ResourceAccount": OTHER})

    def test_escapes_are_literal(self) -> None:
        # [VARS] "${*}", "${?}", "${$}" stand for the literal characters.
        assert holds({"StringLike": {"k": "a${*}b"}}, {"k": "a*b"})
        assert not holds({"StringLike": {"k": "a${*}b"}}, {"k": "axb"})
        assert holds({"StringLike": {"k": "a${?}"}}, {"k": "a?"})
        assert not holds({"StringLike": {"k": "a${?}"}}, {"k": "ab"})
        assert holds({"StringEquals": {"k": "${$}{x}"}}, {"k": "${x}"})

    def test_default_value(self) -> None:
        # [VARS] "${aws:PrincipalTag/team, 'company-wide'}"
        condition = {"StringEquals": {"k": "${aws:PrincipalTag/team, 'company-wide'}"}}
        assert holds(condition, {"k": "company-wide"})
        assert holds(condition, {"k": "red", "aws:PrincipalTag/team": "red"})

    def test_variables_need_version_2012(self) -> None:
        # [VARS] with Version 2008-10-17 (or none) "${...}" is literal text.
        condition = {"StringEquals": {"k": "${aws:username}"}}
        assert not holds(condition, {"k": "john", "aws:username": "john"}, version="2008-10-17")
        assert holds(condition, {"k": "${aws:username}"}, version="2008-10-17")

    def test_multivalued_key_is_not_a_variable(self) -> None:
        # [SVMV]: multivalued keys cannot be policy variables.
        condition = {"StringEquals": {"k": "${aws:TagKeys}"}}
        assert not holds(condition, {"k": "a", "aws:TagKeys": ["a"]})


# ----------------------------------------------------------------------------- SCP levels


class TestScps:
    ROOT_LEVEL = ("root", [("FullAWSAccess", FULL_ACCESS)])
    ACCOUNT_LEVEL = (f"account:{ACCOUNT}", [("FullAWSAccess", FULL_ACCESS)])

    def test_full_access_everywhere_allows(self) -> None:
        decision = evaluate_scps(
            [self.ROOT_LEVEL, self.ACCOUNT_LEVEL], long_term_root("iam:CreateUser")
        )
        assert decision.allowed
        assert decision.denied_by is None and decision.missing_allow_level is None

    def test_explicit_deny_at_an_ou(self) -> None:
        ou = (
            "ou:/root/prod",
            [("FullAWSAccess", FULL_ACCESS), ("deny-root", DENY_ACTIONS_AS_ROOT)],
        )
        decision = evaluate_scps(
            [self.ROOT_LEVEL, ou, self.ACCOUNT_LEVEL], root_session("iam:ListAccessKeys")
        )
        assert not decision.allowed
        assert decision.denied_by == StatementRef("deny-root", "DenyActionsAsRootUser", 0)
        assert decision.missing_allow_level is None

    def test_aws_scp_at_ou_lets_sessions_through(self) -> None:
        ou = (
            "ou:/root/prod",
            [("FullAWSAccess", FULL_ACCESS), ("aws", AWS_DENY_ROOT_EXCEPT_ASSUMED)],
        )
        levels = [self.ROOT_LEVEL, ou, self.ACCOUNT_LEVEL]
        assert evaluate_scps(levels, root_session("iam:ListAccessKeys")).allowed
        assert not evaluate_scps(levels, long_term_root("iam:ListAccessKeys")).allowed

    def test_every_level_needs_an_allow(self) -> None:
        # [SCP]: an allow-list OU SCP without iam:* blocks root sessions (the NotAction pitfall).
        allow_list = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:*", "ec2:*"], "Resource": "*"}],
        }
        ou = ("ou:/root/sandbox", [("allow-list", allow_list)])
        decision = evaluate_scps(
            [self.ROOT_LEVEL, ou, self.ACCOUNT_LEVEL], root_session("iam:ListAccessKeys")
        )
        assert decision == type(decision)(
            allowed=False, denied_by=None, missing_allow_level="ou:/root/sandbox"
        )
        assert evaluate_scps(
            [self.ROOT_LEVEL, ou, self.ACCOUNT_LEVEL], root_session("s3:GetBucketPolicy")
        ).allowed

    def test_empty_level_allows_nothing(self) -> None:
        decision = evaluate_scps([self.ROOT_LEVEL, ("account:1", [])], root_session("s3:GetObject"))
        assert not decision.allowed and decision.missing_allow_level == "account:1"

    def test_deny_reported_even_when_allow_missing(self) -> None:
        decision = evaluate_scps(
            [("root", [("deny", DENY_ACTIONS_AS_ROOT)])], long_term_root("iam:CreateUser")
        )
        assert decision.denied_by is not None and decision.missing_allow_level == "root"


# ----------------------------------------------------------------------------- properties

_text = st.text(max_size=20)
_action = st.from_regex(r"[a-z0-9-]{1,10}:[A-Za-z0-9*?]{1,20}", fullmatch=True)
_context_value = st.one_of(_text, st.booleans(), st.lists(_text, max_size=3))
_KEYS = [
    "aws:PrincipalArn",
    "aws:AssumedRoot",
    "aws:SourceIp",
    "aws:CurrentTime",
    "k",
    "aws:TagKeys",
    "aws:PrincipalAccount",
]
_context = st.dictionaries(st.one_of(st.sampled_from(_KEYS), _text), _context_value, max_size=6)

# A battery touching every operator family, qualifiers and IfExists.
_EVERY_OPERATOR = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {op: {key: value}}}
        for op, key, value in [
            ("StringEquals", "k", "${aws:PrincipalAccount}"),
            ("StringNotEqualsIgnoreCase", "k", ["a", "B"]),
            ("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:root"),
            ("ForAllValues:StringNotLike", "aws:TagKeys", "key1*"),
            ("ForAnyValue:StringEquals", "aws:TagKeys", ["x", "y"]),
            ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:*"),
            ("ArnNotEqualsIfExists", "k", "arn:aws:iam::*:root"),
            ("Bool", "aws:AssumedRoot", "true"),
            ("Null", "aws:AssumedRoot", "false"),
            ("NumericGreaterThanEqualsIfExists", "k", "3"),
            ("NumericNotEquals", "k", ["1", "2.5"]),
            ("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z"),
            ("DateNotEquals", "aws:CurrentTime", "0"),
            ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "::1/128"]),
            ("NotIpAddressIfExists", "aws:SourceIp", "192.0.2.0/24"),
            ("BinaryEquals", "k", "QmluYXJ5"),
            ("ForAllValues:NumericLessThan", "aws:TagKeys", "5"),
        ]
    ],
}


@settings(max_examples=300, deadline=None)
@given(action=_action, resource=_text, context=_context)
def test_deny_star_without_condition_always_denies(
    action: str, resource: str, context: dict[str, Any]
) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    assert evaluate_policy(doc, RequestContext(action, resource, context)).explicit_deny is not None


@settings(max_examples=300, deadline=None)
@given(
    action=st.from_regex(r"[a-z0-9-]{1,10}:[A-Za-z0-9]{1,20}", fullmatch=True),
    context=_context,
    swap=st.booleans(),
)
def test_not_action_never_matches_its_own_action(
    action: str, context: dict[str, Any], swap: bool
) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "NotAction": action, "Resource": "*"}],
    }
    requested = action.swapcase() if swap else action
    assert evaluate_policy(doc, RequestContext(requested, "*", context)).explicit_deny is None


@settings(max_examples=500, deadline=None)
@given(action=_action, resource=_text, context=_context)
def test_evaluation_never_raises_on_arbitrary_contexts(
    action: str, resource: str, context: dict[str, Any]
) -> None:
    result = evaluate_policy(_EVERY_OPERATOR, RequestContext(action, resource, context))
    assert result.allow is None


@settings(max_examples=300, deadline=None)
@given(value=_text, request_value=_text)
def test_string_equals_and_not_equals_are_complements(value: str, request_value: str) -> None:
    context = {"k": request_value}
    assert holds({"StringEquals": {"k": value}}, context) != holds(
        {"StringNotEquals": {"k": value}}, context
    )


@settings(max_examples=200, deadline=None)
@given(value=_text)
def test_string_like_without_wildcards_is_string_equals(value: str) -> None:
    pattern = value.replace("*", "").replace("?", "").replace("$", "")
    assert holds({"StringLike": {"k": pattern}}, {"k": pattern})
    assert holds({"StringEquals": {"k": pattern}}, {"k": pattern})


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_text, max_size=4))
def test_for_all_values_with_no_request_values_holds(values: list[str]) -> None:
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": values or ["x"]}}
    assert holds(condition, {})
    assert holds(condition, {"aws:TagKeys": []})
