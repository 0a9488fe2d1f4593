"""CLI value parsers: same checks as rootctl.yaml, raised as UsageError with the fix."""

from __future__ import annotations

import pytest

from rootctl.config import parse_account_id, parse_account_ids, parse_ou_path
from rootctl.errors import UsageError


def test_parse_account_id() -> None:
    assert parse_account_id(" 012345678901 ") == "012345678901"


@pytest.mark.parametrize("text", ["", "1234", "1234567890123", "12345678901a", "*", "12 345678901"])
def test_parse_account_id_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="expected 12 digits") as info:
        parse_account_id(text)
    assert info.value.exit_code == 2


def test_parse_account_id_names_flag() -> None:
    with pytest.raises(UsageError, match=r"^--account: '42' is not an account id"):
        parse_account_id("42", flag="--account")


def test_parse_account_ids_splits_dedupes_and_keeps_order() -> None:
    assert parse_account_ids("222222222222, 111111111111,,222222222222 333333333333") == [
        "222222222222",
        "111111111111",
        "333333333333",
    ]
    assert parse_account_ids(["111111111111,222222222222", "333333333333"]) == [
        "111111111111",
        "222222222222",
        "333333333333",
    ]


@pytest.mark.parametrize("text", ["", " , ", []])
def test_parse_account_ids_needs_one(text: str | list[str]) -> None:
    with pytest.raises(UsageError, match="no account ids given"):
        parse_account_ids(text)


def test_parse_account_ids_names_bad_item() -> None:
    with pytest.raises(UsageError, match=r"^--accounts: '2222' is not an account id"):
        parse_account_ids("111111111111,2222", flag="--accounts")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/root", "/root"),
        ("/root/", "/root"),
        ("/root/workloads/prod/", "/root/workloads/prod"),
        (" /root/workloads ", "/root/workloads"),
    ],
)
def test_parse_ou_path_normalises(text: str, expected: str) -> None:
    assert parse_ou_path(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "must start with /root"),
        ("/", "must start with /root"),
        ("/workloads", "must start with /root"),
        ("/rootx/a", "must start with /root"),
        ("root/workloads", "did you mean '/root/workloads'?"),
        ("/Root/workloads", "lowercase /root"),
        ("/root//prod", "empty segment"),
        ("/root/ /prod", "empty segment"),
    ],
)
def test_parse_ou_path_rejects(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_ou_path(text, flag="--ou")
    message = str(info.value)
    assert message.startswith("--ou: ")
    assert fragment in message
