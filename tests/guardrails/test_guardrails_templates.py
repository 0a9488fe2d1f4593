"""Guardrail templates: package data, render, size check, and the `guardrails render` CLI."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from click.testing import CliRunner

from rootctl.cli.main import cli
from rootctl.errors import UsageError
from rootctl.guardrails.evaluate import RequestContext, evaluate_policy
from rootctl.guardrails.templates import (
    SCP_MAX_CHARS,
    TEMPLATE_NAMES,
    check_size,
    minify,
    render,
    size,
    template,
)

ROOT = "arn:aws:iam::111122223333:root"
ROLE = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"


def denied(document: dict[str, Any], principal: str, assumed_root: bool) -> bool:
    context: dict[str, Any] = {"aws:PrincipalArn": principal}
    if assumed_root:
        context["aws:AssumedRoot"] = True
    request = RequestContext("iam:CreateUser", "*", context)
    return evaluate_policy(document, request).explicit_deny is not None


def test_every_shipped_template_is_listed() -> None:
    folder = resources.files("rootctl.guardrails").joinpath("templates")
    shipped = sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )
    assert shipped == sorted(TEMPLATE_NAMES)


def test_except_centralized_root_is_aws_recommended_condition() -> None:
    # AWS's example in the aws:AssumedRoot section of the global condition keys page.
    statement = template("deny_actions_as_root_except_centralized_root")["Statement"][0]
    assert (
        statement["Effect"] == "Deny"
        and statement["Action"] == "*"
        and statement["Resource"] == "*"
    )
    assert statement["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
        "Null": {"aws:AssumedRoot": "true"},
    }


@pytest.mark.parametrize(
    ("name", "long_term", "session"),
    [
        ("deny_actions_as_root", True, True),
        ("deny_actions_as_root_except_centralized_root", True, False),
    ],
)
def test_templates_deny_what_they_say(name: str, long_term: bool, session: bool) -> None:
    document = render([name])
    assert denied(document, ROOT, assumed_root=False) is long_term
    assert denied(document, ROOT, assumed_root=True) is session
    assert not denied(document, ROLE, assumed_root=False)


def test_render_merges_statements_in_order() -> None:
    document = render(list(TEMPLATE_NAMES))
    assert document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == [
        "DenyActionsAsRootUser",
        "DenyActionsAsRootUserExceptCentralizedRoot",
    ]


def test_render_does_not_mutate_templates() -> None:
    render(["deny_actions_as_root"], ["arn:aws:iam::*:role/Break"])
    assert "ArnNotLike" not in template("deny_actions_as_root")["Statement"][0]["Condition"]


def test_exclusions_become_arn_not_like_on_each_deny() -> None:
    exclusions = [ROLE, "arn:aws:iam::*:role/Break*", ROLE]
    document = render(list(TEMPLATE_NAMES), exclusions)
    for statement in document["Statement"]:
        assert statement["Condition"]["ArnNotLike"] == {
            "aws:PrincipalArn": [ROLE, "arn:aws:iam::*:role/Break*"]
        }


def test_single_exclusion_is_a_string() -> None:
    document = render(["deny_actions_as_root"], [ROLE])
    assert document["Statement"][0]["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": ROLE}


def test_excluding_one_root_exempts_that_account_only() -> None:
    document = render(["deny_actions_as_root"], [ROOT])
    assert not denied(document, ROOT, assumed_root=False)
    assert denied(document, "arn:aws:iam::444455556666:root", assumed_root=False)


@pytest.mark.parametrize(
    ("names", "exclude", "message"),
    [
        (
            ["nope"],
            [],
            "use one of: deny_actions_as_root, deny_actions_as_root_except_centralized_root",
        ),
        ([], [], "at least one"),
        (["deny_actions_as_root", "deny_actions_as_root"], [], "listed twice"),
        (["deny_actions_as_root"], ["role/Admin"], "not an ARN pattern"),
    ],
)
def test_render_rejects_bad_input(names: list[str], exclude: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        render(names, exclude)


def test_minify_and_size() -> None:
    document = render(["deny_actions_as_root"])
    text = minify(document)
    assert json.loads(text) == document
    assert " " not in text and "\n" not in text
    assert size(document) == len(text)


def test_check_size_limit() -> None:
    document = render(["deny_actions_as_root"])
    filler = SCP_MAX_CHARS - size(document) - len(',"Sid2":""')
    at_limit = {**document, "Sid2": "x" * filler}
    check_size(at_limit)
    with pytest.raises(UsageError, match=f"over the AWS limit of {SCP_MAX_CHARS}") as info:
        check_size({**document, "Sid2": "x" * (filler + 1)})
    assert "\n" not in str(info.value)


def test_render_rejects_oversize_exclusions() -> None:
    many = [f"arn:aws:iam::{n:012d}:role/Some-Long-Break-Glass-Role-Name" for n in range(200)]
    with pytest.raises(UsageError, match="over the AWS limit"):
        render(["deny_actions_as_root"], many)


# ----------------------------------------------------------------------------- CLI


def test_cli_render_prints_json_and_size() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "guardrails",
            "render",
            "deny_actions_as_root_except_centralized_root",
            "--exclude-principal-arn",
            ROLE,
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == render(["deny_actions_as_root_except_centralized_root"], [ROLE])
    assert result.stderr.startswith(f"size: {size(document)} of {SCP_MAX_CHARS} characters")


def test_cli_render_minify() -> None:
    result = CliRunner().invoke(cli, ["guardrails", "render", *TEMPLATE_NAMES, "--minify"])
    assert result.exit_code == 0, result.output
    assert result.stdout == minify(render(list(TEMPLATE_NAMES))) + "\n"


def test_cli_render_unknown_template_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["guardrails", "render", "nope"])
    assert result.exit_code != 0
    shown = result.output + str(result.exception or "")
    assert "use one of: deny_actions_as_root, deny_actions_as_root_except_centralized_root" in shown


def test_cli_render_needs_a_name() -> None:
    result = CliRunner().invoke(cli, ["guardrails", "render"])
    assert result.exit_code == 2


def test_cli_lists_guardrails_group() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "guardrails" in result.output
