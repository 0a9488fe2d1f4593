"""rootctl.aws.timestamps: AWS's ISO 8601 timestamps parsed fast, every result equal to
botocore's own parser (same instant, same offset, naive stays naive), and the clients rootctl
builds use it (an audit against the sandbox goes through the fast path)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.utils import parse_timestamp
from hypothesis import given
from hypothesis import strategies as st

from rootctl import connect
from rootctl.aws import timestamps
from rootctl.aws.timestamps import fast_timestamp
from rootctl.org.selection import SelectionSpec
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD, enabled_fixture


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b) is datetime
    assert (a.tzinfo is None) == (b.tzinfo is None)
    assert a == b
    assert a.utcoffset() == b.utcoffset()


@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
    ),
    digits=st.integers(min_value=0, max_value=6),
    offset_minutes=st.sampled_from([0, 60, -60, 330, -570, 14 * 60, -12 * 60]),
    zulu=st.booleans(),
)
def test_the_aws_form_parses_as_botocore_parses_it(
    moment: datetime, digits: int, offset_minutes: int, zulu: bool
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}"[:digits]
    if zulu and offset_minutes == 0:
        text += "Z"
    else:
        sign = "-" if offset_minutes < 0 else "+"
        text += f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"
    same(fast_timestamp(text), parse_timestamp(text))


@pytest.mark.parametrize(
    "value",
    [
        "2024-08-30T12:00:00",  # no offset: botocore keeps it naive
        "2024-08-30T12:00:00.1234567Z",  # 7 fraction digits
        "2024-08-30 12:00:00Z",  # a space, not T
        "2024-08-30T12:00Z",  # no seconds
        "Fri, 30 Aug 2024 12:00:00 GMT",  # RFC 822 (REST headers)
        "20240830T120000Z",  # basic ISO form
        1725019200,  # epoch seconds (JSON protocols)
        1725019200.5,
        "1725019200",
        "\uff12\uff10\uff12\uff14-08-30T12:00:00Z",  # fullwidth digits: never the fast path
    ],
)
def test_other_forms_go_to_botocore_unchanged(value: Any) -> None:
    try:
        expected = parse_timestamp(value)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            fast_timestamp(value)
        return
    same(fast_timestamp(value), expected)


@pytest.fixture
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox.start(enabled_fixture()) as sb:
        for name in [k for k in os.environ if k.startswith(("AWS_", "ROOTCTL_"))]:
            monkeypatch.delenv(name)
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield sb


def test_rootctl_clients_parse_through_it(
    sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    seen: list[str] = []
    real = timestamps._ISO_WITH_OFFSET

    class Counting:
        def fullmatch(self, value: str) -> Any:
            seen.append(value)
            return real.fullmatch(value)

    monkeypatch.setattr(timestamps, "_ISO_WITH_OFFSET", Counting())
    with connect(journal=tmp_path / "journal.db") as rc:
        report = rc.audit(SelectionSpec(accounts=(PAYMENTS_PROD,)))
    (account,) = report.accounts
    assert account.root is not None and account.root.access_keys
    assert seen  # AssumeRoot's Expiration, the keys' CreateDate...
    created = account.root.access_keys[0].created
    assert created is not None and created.utcoffset() == timedelta(0)
