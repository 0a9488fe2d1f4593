"""No secret is ever stored: not in before/after, not in error or reason, not on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rootctl.journal import REDACTED, Journal, JournalEntry, scrub_text, scrub_value

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example
OTHER_SECRET = "Zq9+Yr8/Xs7Wt6Vu5Ut4Sv3Rw2Qx1Py0Oz9Na8Mb"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "Ab12Cd34Ef56" * 30
PASSWORD = "correct-horse-battery-staple-42!"
MFA_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECRETS = (SECRET_KEY, OTHER_SECRET, SESSION_TOKEN, PASSWORD, MFA_SEED)


def test_the_secret_fixtures_look_like_the_real_thing() -> None:
    assert len(SECRET_KEY) == 40
    assert len(OTHER_SECRET) == 40
    assert len(SESSION_TOKEN) > 300


def test_secrets_given_anywhere_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    credentials = {
        "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
        "SecretAccessKey": SECRET_KEY,
        "SessionToken": SESSION_TOKEN,
        "Expiration": "2025-01-31T12:15:00Z",
    }
    with Journal(path) as journal:
        stored = journal.append(
            JournalEntry(
                command="delete-credentials",
                action="assume-root",
                outcome="error",
                account_id="333333333333",
                task_policy="IAMDeleteRootUserCredentials",
                before={
                    "Credentials": credentials,
                    "nested": [{"aws_secret_access_key": SECRET_KEY}],
                },
                after={
                    "LoginProfile": {"Password": PASSWORD},
                    "session_token": SESSION_TOKEN,
                    "VirtualMFADevice": {"Base32StringSeed": MFA_SEED},
                    "ApiKey": OTHER_SECRET,
                    "Config": json.dumps({"secret_access_key": SECRET_KEY}),
                },
                error=(
                    f"boto failed with aws_secret_access_key={SECRET_KEY} "
                    f'and {{"SessionToken": "{SESSION_TOKEN}"}}; stray {OTHER_SECRET}'
                ),
                reason=f"rotating, old password: {PASSWORD}",
            )
        )
        # what the caller gets back and what a later reader gets are both clean
        for entry in (stored, journal.get(stored.id)):
            text = json.dumps(entry.to_dict())
            for secret in SECRETS:
                assert secret not in text
        assert stored.before["Credentials"]["AccessKeyId"] == "ASIAEXAMPLEEXAMPLE12"
        assert stored.before["Credentials"]["SecretAccessKey"] == REDACTED
        assert stored.after["LoginProfile"]["Password"] == REDACTED
        assert stored.after["ApiKey"] == REDACTED
        assert json.loads(stored.after["Config"]) == {"secret_access_key": REDACTED}
        assert (
            stored.error is not None and "boto failed with aws_secret_access_key=" in stored.error
        )
        assert journal.verify().ok
        raw_open = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    raw_closed = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"ASIAEXAMPLEEXAMPLE12" in raw_closed  # the bytes read are really the entry's
    for raw in (raw_open, raw_closed):  # the WAL while open, the main file after checkpoint
        for secret in SECRETS:
            assert secret.encode() not in raw
            assert secret[:24].encode() not in raw


@pytest.mark.parametrize(
    "key",
    [
        "SecretAccessKey",
        "secret_access_key",
        "aws_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        "SessionToken",
        "session_token",
        "aws_session_token",
        "Password",
        "NewPassword",
        "PrivateKey",
        "AuthenticationCode1",
        "Base32StringSeed",
    ],
)
def test_secret_keys_are_redacted_whatever_their_value(key: str) -> None:
    assert scrub_value({key: "anything"}) == {key: REDACTED}
    assert scrub_value({"deep": [{key: {"x": 1}}]}) == {"deep": [{key: REDACTED}]}
    assert scrub_value({key: None}) == {key: None}


def test_secret_looking_values_are_redacted_only_under_suspicious_keys() -> None:
    assert scrub_value({"Token": SECRET_KEY, "ApiKey": SECRET_KEY}) == {
        "Token": REDACTED,
        "ApiKey": REDACTED,
    }
    # the same 40 characters under an ordinary key are data (a queue name, an ARN segment)
    assert scrub_value({"QueueName": SECRET_KEY}) == {"QueueName": SECRET_KEY}
    # ids of keys are what the journal is about
    ids = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "KeyIds": ["AKIAIOSFODNN7EXAMPLE"]}
    assert scrub_value(ids) == ids


def test_a_backed_up_policy_survives_byte_for_byte() -> None:
    role = "arn:aws:iam::333333333333:role/" + "Ab1" * 13 + "x"  # a 40-character run
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": {"AWS": role}, "Action": "sqs:*"}],
        },
        indent=2,
    )
    value = {"Policy": policy, "Attributes": {"Policy": policy, "QueueArn": role}}
    assert scrub_value(value) == value


def test_free_text_loses_named_secrets_keys_and_tokens_but_keeps_the_rest() -> None:
    text = (
        f"AccessDenied for AKIAIOSFODNN7EXAMPLE: SecretAccessKey: {SECRET_KEY}, "
        f"password='{PASSWORD}' token {SESSION_TOKEN} commit 0123456789abcdef0123456789abcdef01234567"
    )
    scrubbed = scrub_text(text)
    for secret in (SECRET_KEY, PASSWORD, SESSION_TOKEN):
        assert secret not in scrubbed
    assert scrubbed.startswith("AccessDenied for AKIAIOSFODNN7EXAMPLE: SecretAccessKey: [redacted]")
    # a lowercase hex digest is not a secret key
    assert "0123456789abcdef0123456789abcdef01234567" in scrubbed
    assert scrub_text(f"leaked {OTHER_SECRET}.") == f"leaked {REDACTED}."
    assert scrub_text("no secrets here") == "no secrets here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('NewPassword="two words"', 'NewPassword="[redacted]"'),
        ("password: 'a b c' rest", "password: '[redacted]' rest"),
        ('{"Password": "a\\"b c", "k": 1}', '{"Password": "[redacted]", "k": 1}'),
        ('password="unclosed and more', 'password="[redacted]" and more'),
        ("x-amz-security-token=abc&x=1", "x-amz-security-token=[redacted]&x=1"),
        ("AWS_SESSION_TOKEN=abc", "AWS_SESSION_TOKEN=[redacted]"),
    ],
)
def test_named_secrets_in_text_lose_their_whole_value(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_scrubbing_long_text_is_linear() -> None:
    # A 20 KB policy or a long error message must not take quadratic time to scan.
    long = "no secret here, " * 20_000
    assert scrub_text(long + " password=p") == long + " password=[redacted]"
    assert scrub_value({"Description": long}) == {"Description": long}
