"""Property tests of the input parsers that tests/config and tests/guardrails do not fuzz.

tests/config fuzzes the config loader (any YAML, any text) and tests/guardrails the SCP
condition evaluator. What remains is everything else a user types: account ids and lists
of them, OU paths, regions, task names and ARNs, `--since`, queue names and URLs, resource
policy files (parsed, then lock-analysed), and sandbox fixtures. The property is the one
the CLI promises: a value comes back normalised, or a UsageError (exit 2, one line) says
why; never another exception, which would surface as a traceback.
"""

from __future__ import annotations

import json
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rootctl.aws.session import check_region
from rootctl.config import parse_account_id, parse_account_ids, parse_ou_path
from rootctl.errors import UsageError
from rootctl.sandbox import load_fixture
from rootctl.sessions.events import parse_since
from rootctl.sessions.policy import analyze, parse_policy_text, resource_arn
from rootctl.sessions.sqs import parse_queue
from rootctl.tasks import Task

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACCOUNT = "333333333333"
NEAR_IDS = st.one_of(
    st.text(alphabet=string.digits, min_size=10, max_size=14),
    st.text(alphabet=string.digits + " ,\t\n-x", max_size=40),
    st.text(max_size=20),
)


def usage_or(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """fn(...) or None when it raised UsageError (one line); any other exception fails."""
    try:
        return fn(*args, **kwargs)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc), repr(exc)
        return None


@FAST
@given(NEAR_IDS)
def test_account_id_is_twelve_digits_or_a_usage_error(text: str) -> None:
    parsed = usage_or(parse_account_id, text, flag="--account")
    if parsed is not None:
        assert re.fullmatch(r"\d{12}", parsed)
        assert parsed == text.strip()


@FAST
@given(st.one_of(NEAR_IDS, st.lists(NEAR_IDS, max_size=4)))
def test_account_id_lists_keep_order_without_duplicates(value: str | list[str]) -> None:
    parsed = usage_or(parse_account_ids, value, flag="--accounts")
    if parsed is not None:
        assert parsed and len(parsed) == len(set(parsed))
        joined = value if isinstance(value, str) else " ".join(value)
        positions = [joined.index(p) for p in parsed]
        assert positions == sorted(positions)


OU_TEXT = st.one_of(
    st.lists(st.text(alphabet=string.ascii_letters + "-_ ./", max_size=6), max_size=4).map(
        lambda parts: "/" + "/".join(["root", *parts])
    ),
    st.text(alphabet="/root-_ab ", max_size=20),
    st.text(max_size=20),
)


@FAST
@given(OU_TEXT)
@example("/root/A /")  # found by hypothesis: the trailing space survived the first pass
def test_ou_path_is_normalised_and_idempotent(text: str) -> None:
    parsed = usage_or(parse_ou_path, text, flag="--ou")
    if parsed is not None:
        assert parsed == "/root" or parsed.startswith("/root/")
        assert "//" not in parsed and not parsed.endswith("/")
        assert parse_ou_path(parsed) == parsed


@FAST
@given(
    st.one_of(
        st.from_regex(r"[a-z]{2,4}(-[a-z]{2,9}){1,2}-\d{1,2}", fullmatch=True), st.text(max_size=20)
    )
)
def test_region_is_a_region_name_or_a_usage_error(text: str) -> None:
    parsed = usage_or(check_region, text)
    if parsed is not None:
        assert parsed == text.strip() and not parsed.endswith("-global")


TASK_TEXT = st.one_of(
    st.sampled_from([t.value for t in Task] + [t.arn for t in Task] + [t.short_name for t in Task]),
    st.text(max_size=30),
    st.sampled_from(list(Task)).map(lambda t: t.arn.replace("root-task", "root-tasks")),
)


@FAST
@given(TASK_TEXT, st.sampled_from(["", " ", "\t"]))
def test_task_names_and_arns_parse_to_their_task(text: str, pad: str) -> None:
    try:
        task = Task.parse(pad + text + pad)
    except ValueError as exc:
        assert "unknown task" in str(exc)
        return
    assert text.strip() in (task.value, task.arn, task.short_name)


SINCE_TEXT = st.one_of(
    st.from_regex(r"\d{1,4}[mhdw]", fullmatch=True),
    st.dates(min_value=datetime(2000, 1, 1).date()).map(str),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.text(max_size=15),
)


@FAST
@given(SINCE_TEXT)
def test_since_is_a_point_in_time_or_a_usage_error(text: str) -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    parsed = usage_or(parse_since, text, now)
    if parsed is not None:
        assert parsed.tzinfo is not None
        if re.fullmatch(r"\d+[mhdw]", text.strip()):
            assert parsed <= now and now - parsed <= timedelta(weeks=10_000)


QUEUE_TEXT = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=90),
    st.builds(
        lambda scheme, region, owner, name: f"{scheme}://sqs.{region}.amazonaws.com/{owner}/{name}",
        st.sampled_from(["https", "http", "ftp"]),
        st.sampled_from(["us-east-1", "eu-west-1", "x"]),
        st.sampled_from([ACCOUNT, "444444444444", "abc", ""]),
        st.text(alphabet=string.ascii_letters + "-_./", max_size=20),
    ),
    st.text(max_size=40),
)


@FAST
@given(QUEUE_TEXT)
@example(text="0\n")  # found by this test: `$` in a .match() accepted a trailing newline
def test_queue_name_or_url_is_checked_locally(text: str) -> None:
    ref = usage_or(parse_queue, text, ACCOUNT)
    if ref is not None:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}(\.fifo)?", ref.name), ref
        if ref.url is not None:
            assert f"/{ACCOUNT}/" in ref.url


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
STATEMENT = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny", "deny", 1]),
        "Principal": st.sampled_from(
            [
                "*",
                {"AWS": "*"},
                {"AWS": ["*"]},
                {"Service": "s3.amazonaws.com"},
                {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            ]
        ),
        "Action": st.sampled_from(
            ["s3:*", "*", ["s3:GetObject", "s3:PutBucketPolicy"], "sqs:*", "s3:Get*"]
        ),
    },
    optional={
        "Resource": st.sampled_from(
            ["*", "arn:aws:s3:::b", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], 3]
        ),
        "NotAction": st.sampled_from(["s3:GetObject", ["s3:PutBucketPolicy"]]),
        "Sid": st.text(max_size=5),
        "Condition": st.one_of(
            JSON,
            st.just({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}),
            st.just({"Bool": {"aws:SecureTransport": "false"}}),
            st.just({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
        ),
    },
)
POLICY = st.one_of(
    st.fixed_dictionaries(
        {
            "Version": st.sampled_from(["2012-10-17", "2008-10-17", "2020"]),
            "Statement": st.lists(STATEMENT, max_size=3),
        }
    ),
    JSON,
)


@FAST
@given(POLICY, st.sampled_from(["s3", "sqs"]))
def test_policy_files_are_parsed_and_analysed_without_crashing(document: Any, kind: str) -> None:
    policy = usage_or(parse_policy_text, json.dumps(document), "policy.json")
    if policy is None:
        return
    arn = resource_arn(kind, ACCOUNT, "b", "us-east-1")  # type: ignore[arg-type]
    analysis = analyze(policy, kind, ACCOUNT, arn)  # type: ignore[arg-type]
    assert analysis.locked == bool(analysis.statements)
    for statement in analysis.statements:
        assert policy["Statement"][statement.index]["Effect"] == "Deny"


@FAST
@given(st.text(max_size=200))
def test_any_policy_text_is_json_or_a_usage_error(text: str) -> None:
    usage_or(parse_policy_text, text, "policy.json")


FIXTURE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "organization": st.one_of(
                JSON,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "accounts": st.lists(
                            st.fixed_dictionaries(
                                {
                                    "id": st.one_of(
                                        st.from_regex(r"\d{12}", fullmatch=True),
                                        st.text(max_size=13),
                                    )
                                },
                                optional={
                                    "name": st.text(max_size=5),
                                    "ou": st.text(max_size=12),
                                    "status": st.text(max_size=8),
                                },
                            ),
                            max_size=3,
                        ),
                        "feature_set": st.sampled_from(["ALL", "CONSOLIDATED_BILLING", "x"]),
                        "trusted_access": st.lists(st.text(max_size=20), max_size=2),
                    },
                ),
            ),
            "generate": st.one_of(
                JSON, st.fixed_dictionaries({"accounts": st.integers(-5, 30_000)})
            ),
        },
    ),
    JSON,
)


@FAST
@given(FIXTURE)
def test_any_fixture_validates_or_is_a_usage_error(data: Any) -> None:
    if not isinstance(data, dict):
        return  # load_fixture takes a mapping (or a path); a YAML file that is not one is checked elsewhere
    fixture = usage_or(load_fixture, data)
    if fixture is not None:
        assert 0 <= fixture.generate.accounts <= 20_000
        for account in fixture.organization.accounts:
            assert re.fullmatch(r"\d{12}", account.id)


def test_a_fixture_error_naming_a_key_with_a_line_break_is_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        load_fixture({"organization": {"bad\nkey": 1}})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("end", ["\n", "\r\n", " ", "\t"])
def test_names_with_a_trailing_newline_or_space_are_refused_or_cleaned(end: str) -> None:
    """The class of the queue-name bug above (a pattern ending in `$` used with .match()
    accepts a trailing newline): every check of a name or id either refuses the valid value
    plus trailing whitespace, or strips it and returns exactly the valid value; inside a
    value it is refused; an account id of non-ASCII digits is refused."""
    from rootctl.aws import RootSessionBroker, SessionFactory
    from rootctl.sessions.resources import check_bucket_name, check_queue_name

    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"
    for check, valid in [(check_bucket_name, "payments-prod-artifacts"), (check_queue_name, "q")]:
        assert check(valid) == valid
        with pytest.raises(UsageError):
            check(valid + end)
    assert check_region("us-east-1" + end) == "us-east-1"
    assert parse_queue("q" + end, ACCOUNT).name == "q"
    assert parse_queue(url + end, ACCOUNT).url == url
    for inside in (f"q{end}x", url.replace("/q", f"/q{end}x"), url.replace("sqs.", f"sqs.{end}")):
        with pytest.raises(UsageError):
            parse_queue(inside, ACCOUNT)
    broker = RootSessionBroker(SessionFactory(region="us-east-1"))
    for account in (ACCOUNT + end, "١٢٣٤٥٦٧٨٩٠١٢"):
        with pytest.raises(UsageError, match="not 12 digits"):
            broker.credentials(account, Task.AUDIT)
