"""The remembered policy evaluation the sandbox enforces task policies and SCPs with
(rootctl.guardrails.evaluate.evaluate_policy_text, evaluate_scps over JSON text): the same
answer as evaluating the document, for every task policy and guardrail template against a
grid of actions, resources and contexts, asked twice (the second answer comes from the
cache); context values that only look alike are not confused; errors are never remembered."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from rootctl.guardrails.evaluate import (
    PolicyError,
    RequestContext,
    evaluate_policy,
    evaluate_policy_text,
    evaluate_scps,
)
from rootctl.guardrails.templates import render
from rootctl.tasks import Task, allowed_actions, task_policy_document

ACCOUNT = "333333333333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"

TEMPLATES = ["deny_actions_as_root", "deny_actions_as_root_except_centralized_root"]
FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
CONDITIONAL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OnlyOwnAccount",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "arn:aws:s3:::${aws:PrincipalAccount}-*",
            "Condition": {"Bool": {"aws:AssumedRoot": "true"}, "NumericEquals": {"n": "1"}},
        },
        {"Effect": "Allow", "Action": ["iam:*", "s3:Get*"], "NotResource": "arn:aws:s3:::x"},
    ],
}


# A resource pattern and a condition but no policy variable: the resource and one context
# key are part of what is remembered, the rest of the context is not.
RESOURCE_BOUND = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Logs",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{ACCOUNT}-*",
        },
        {
            "Effect": "Allow",
            "NotAction": "sqs:*",
            "Resource": ["*"],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        },
    ],
}


def _policies() -> list[tuple[str, dict[str, Any]]]:
    policies = [(task.value, task_policy_document(task)) for task in Task]
    policies += [(name, render([name])) for name in TEMPLATES]
    policies += [("full", FULL_ACCESS), ("conditional", CONDITIONAL)]
    policies += [("resource-bound", RESOURCE_BOUND)]
    return policies


def _actions() -> list[str]:
    actions = {a for task in Task for a in allowed_actions(task)}
    actions |= {
        "iam:ListUsers",
        "iam:CreateUser",
        "s3:GetObject",
        "sqs:SendMessage",
        "sts:GetCallerIdentity",
    }
    return sorted(actions)


RESOURCES = [
    "*",
    ROOT,
    f"arn:aws:s3:::{ACCOUNT}-logs",
    "arn:aws:s3:::x",
    "arn:aws:sqs:us-east-1:1:q",
]


def _contexts() -> list[dict[str, Any]]:
    base = {"aws:PrincipalArn": ROOT, "aws:PrincipalAccount": ACCOUNT}
    return [
        base,
        {"aws:PrincipalArn": ROOT, "aws:PrincipalAccount": "444455556666"},
        {**base, "aws:AssumedRoot": True},
        {**base, "aws:AssumedRoot": "true", "n": 1},
        {**base, "aws:AssumedRoot": False, "n": "1"},
        {**base, "AWS:ASSUMEDROOT": True, "n": ["1", "2"]},
        {"aws:PrincipalArn": "arn:aws:iam::111111111111:user/alice"},
    ]


def test_remembered_answers_equal_evaluated_ones_for_every_policy_and_request() -> None:
    checked = 0
    for (name, document), action, resource, context in itertools.product(
        _policies(), _actions(), RESOURCES, _contexts()
    ):
        request = RequestContext(action=action, resource=resource, context=context)
        expected = evaluate_policy(document, request, name)
        text = json.dumps(document)
        assert evaluate_policy_text(text, request, name) == expected, (name, request)
        assert evaluate_policy_text(text, request, name) == expected, (name, request)
        checked += 1
    assert checked > 1000


def test_values_that_only_look_alike_are_not_confused() -> None:
    """True == 1 in Python, but a policy compares text: "true" and "1" differ."""
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"k": "true"}},
                }
            ],
        }
    )

    def denied(value: Any) -> bool:
        request = RequestContext(action="s3:GetObject", resource="*", context={"k": value})
        return evaluate_policy_text(policy, request).explicit_deny is not None

    assert [denied(v) for v in (True, 1, "true", 1, True, "1")] == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]


def test_scps_as_text_decide_as_scps_as_documents() -> None:
    deny, full = render(["deny_actions_as_root"]), FULL_ACCESS
    shapes = [
        [("root", [("full", full)]), ("ou:/root/prod", [("deny", deny)])],
        [("root", [("full", full)]), ("account:1", [])],
        [("root", [("full", full), ("conditional", CONDITIONAL)])],
    ]
    for levels, action, resource, context in itertools.product(
        shapes, _actions(), RESOURCES, _contexts()
    ):
        request = RequestContext(action=action, resource=resource, context=context)
        texts = [(level, [(n, json.dumps(d)) for n, d in ps]) for level, ps in levels]
        expected = evaluate_scps(levels, request)
        assert evaluate_scps(texts, request) == expected
        assert evaluate_scps(texts, request) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"Statement": [{"Effect": "Maybe", "Action": "*"}]}), "Effect must be"),
        (
            json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "NotAction": "*"}]}),
            "not both",
        ),
    ],
)
def test_a_bad_document_raises_every_time(text: str, message: str) -> None:
    request = RequestContext(action="s3:GetObject", resource="*", context={})
    for _ in range(2):
        with pytest.raises(PolicyError, match=message):
            evaluate_policy_text(text, request, "bad")
        with pytest.raises(PolicyError, match=message):
            evaluate_scps([("root", [("bad", text)])], request)


@pytest.mark.parametrize(
    ("task", "action"),
    [(Task.AUDIT, "iam:ListAccessKeys"), (Task.DELETE, "iam:DeleteAccessKey")],
)
def test_one_evaluation_serves_every_account(
    monkeypatch: pytest.MonkeyPatch, task: Task, action: str
) -> None:
    """The task policies read no context key and match every account's root ARN alike: the
    accounts' different ARNs must not each cost an evaluation (the point of the cache)."""
    from rootctl.guardrails import evaluate

    evaluations: list[str] = []
    real = evaluate._evaluate

    def counted(*args: Any) -> Any:
        evaluations.append(args[2])
        return real(*args)

    monkeypatch.setattr(evaluate, "_evaluate", counted)
    text = json.dumps(task_policy_document(task)) + " "  # a text no other test used
    for index in range(50):
        account = f"{index:012d}"
        arn = f"arn:aws:iam::{account}:root"
        request = RequestContext(
            action=action,
            resource=arn,
            context={"aws:PrincipalArn": arn, "aws:PrincipalAccount": account},
        )
        assert evaluate_policy_text(text, request, task.value).explicit_deny is None
    other_user = RequestContext(action=action, resource="arn:aws:iam::1:user/x", context={})
    assert evaluate_policy_text(text, other_user, task.value).explicit_deny is not None
    assert len(evaluations) == 2, evaluations
