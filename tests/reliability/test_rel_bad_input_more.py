"""More bad input (issue 12.5), for every command: one line, exit 2, no traceback, nothing changed.

Extends test_rel_bad_input.py (same sandbox, same checks) with the classes found by attack:
endpoint URLs of another scheme, a port out of range, a broken IPv6 literal, blanks; an
AWS config or credentials file that is binary or not INI; timeout settings that are not
numbers; a region botocore does not know; reason patterns that backtrack catastrophically;
an oversized config; `--replace-with` files that are binary or nested 100,000 deep.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_rel_bad_input import (  # noqa: F401  (sb and workdir are fixtures)
    COMMANDS,
    CONFIG_COMMANDS,
    LOCKED_BUCKET,
    Case,
    _check,
    _environment,
    _with_config,
    sb,
    workdir,
)

from rootctl.cli.main import cli
from rootctl.sandbox import Sandbox

from support import PAYMENTS_PROD, mutating_calls

ENVIRONMENTS: dict[str, tuple[dict[str, str | None], str]] = {
    "endpoint ftp": ({"AWS_ENDPOINT_URL": "ftp://127.0.0.1:21"}, "AWS_ENDPOINT_URL"),
    "endpoint file": ({"AWS_ENDPOINT_URL": "file:///etc/passwd"}, "AWS_ENDPOINT_URL"),
    "endpoint port out of range": (
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:99999"},
        "Port out of range",
    ),
    "endpoint port 0": ({"AWS_ENDPOINT_URL": "http://127.0.0.1:0"}, "port 0"),
    "endpoint broken IPv6": ({"AWS_ENDPOINT_URL": "http://[::1"}, "IPv6"),
    "endpoint spaces": ({"AWS_ENDPOINT_URL": "   "}, "blank"),
    "endpoint newline": ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1\nx"}, "control"),
    "service endpoint ftp": (
        {"AWS_ENDPOINT_URL_STS": "ftp://127.0.0.1:21"},
        "AWS_ENDPOINT_URL_STS",
    ),
    "AWS config binary": ({"AWS_CONFIG_FILE": "{m}/binary.ini"}, "cannot parse AWS config"),
    "AWS config not INI": ({"AWS_CONFIG_FILE": "{m}/broken.ini"}, "cannot parse AWS config"),
    "credentials file not INI": (
        {
            "AWS_SHARED_CREDENTIALS_FILE": "{m}/broken.ini",
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
        },
        "cannot parse AWS config",
    ),
    "profile section missing": (
        {"AWS_CONFIG_FILE": "{m}/other-profile.ini", "AWS_PROFILE": "ops"},
        "'ops' not found",
    ),
    "read timeout not a number": ({"ROOTCTL_READ_TIMEOUT": "soon"}, "ROOTCTL_READ_TIMEOUT"),
    "connect timeout zero": ({"ROOTCTL_CONNECT_TIMEOUT": "0"}, "ROOTCTL_CONNECT_TIMEOUT"),
    "connection attempts fraction": (
        {"ROOTCTL_CONNECTION_ATTEMPTS": "1.5"},
        "ROOTCTL_CONNECTION_ATTEMPTS",
    ),
    "region unknown": ({"AWS_REGION": "us-east-99", "AWS_DEFAULT_REGION": None}, "us-east-99"),
    "region with escape": (
        {"AWS_REGION": "us-east-1\x1b[2J", "AWS_DEFAULT_REGION": None},
        "\\x1b",
    ),
}
CONFIGS: dict[str, tuple[str, str]] = {
    "reason pattern (a+)+$": ("redos.yaml", "backtracks exponentially"),
    "reason pattern (a|aa)+": ("alternation.yaml", "alternation"),
    "reason pattern backreference": ("backref.yaml", "backreferences"),
    "config of 2 MB": ("huge.yaml", "larger than 1024 KiB"),
    "config binary": ("binary.yaml", "not UTF-8"),
}

CASES: dict[str, Case] = {}
for _command in COMMANDS:
    for _problem, (_env, _fragment) in ENVIRONMENTS.items():
        if _problem == "service endpoint ftp" and _command == "events":
            continue  # events calls CloudTrail only: an STS endpoint is not its input
        CASES[f"{_command} / {_problem}"] = Case(COMMANDS[_command], _fragment, _env)
for _command in CONFIG_COMMANDS:
    for _problem, (_file, _fragment) in CONFIGS.items():
        CASES[f"{_command} / {_problem}"] = Case(_with_config(_command, "{m}/" + _file), _fragment)
_UNLOCK = ("unlock", "s3", "--account", PAYMENTS_PROD, "--bucket", LOCKED_BUCKET)
CASES.update(
    {
        "unlock s3 / replace-with binary": Case(
            (*_UNLOCK, "--replace-with", "{m}/binary.json", "--reason", "OPS-1", "--yes"),
            "--replace-with",
        ),
        "unlock s3 / replace-with over 256 KiB": Case(
            (*_UNLOCK, "--replace-with", "{m}/huge.json", "--reason", "OPS-1", "--yes"),
            "larger than 256 KiB",
        ),
        "unlock s3 / replace-with nested 5000 deep": Case(
            (*_UNLOCK, "--replace-with", "{m}/deep-small.json", "--reason", "OPS-1", "--yes"),
            "--replace-with",
        ),
        "unlock s3 / replace-with nested 100000 deep": Case(
            (*_UNLOCK, "--replace-with", "{m}/deep.json", "--reason", "OPS-1", "--yes"),
            "--replace-with",
        ),
        "unlock s3 / reason too long for the pattern": Case(
            (*_UNLOCK, "-c", "{m}/strict.yaml", "--reason", "OPS-1 " + "a" * 300, "--yes"),
            "at most 256",
        ),
        "delete-credentials / reason that would backtrack": Case(
            ("delete-credentials", "-c", "{m}/redos.yaml", "--reason", "a" * 40 + "!", "--yes"),
            "backtracks exponentially",
        ),
    }
)


@pytest.fixture(scope="module")
def more(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad-input-more")
    (d / "binary.ini").write_bytes(b"\x00\xff\xfe[default\x00\nregion=\xff\n")
    (d / "broken.ini").write_text("region = us-east-1\n[default\nkey\n")
    (d / "other-profile.ini").write_text("[profile other]\nregion = us-east-1\n")
    (d / "redos.yaml").write_text("root_sessions:\n  reason_pattern: '(a+)+$'\n")
    (d / "alternation.yaml").write_text("root_sessions:\n  reason_pattern: '(a|aa)+$'\n")
    (d / "backref.yaml").write_text("root_sessions:\n  reason_pattern: '(a+)x\\1'\n")
    (d / "strict.yaml").write_text("root_sessions:\n  reason_pattern: '^[A-Z]+-[0-9]+ .+$'\n")
    (d / "huge.yaml").write_text("# padding\n" * (2 * 1024 * 1024 // 10 + 1))
    (d / "binary.yaml").write_bytes(b"\x00\xff\xfe\x01garbage")
    (d / "binary.json").write_bytes(b"\x00\xff\xfe\x01")
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "huge.json").write_text('{"Version": "2012-10-17", "Statement": []' + " " * 300_000 + "}")
    (d / "deep-small.json").write_text("[" * 5_000 + "]" * 5_000)
    return d


# Gaps in files this suite's owner does not own, as strict xfails (a fix turns them red).
XFAIL: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n])) if n in XFAIL else n
        for n in sorted(CASES)
    ],
)
def test_more_bad_input_is_one_line_exit_2_and_changes_nothing(
    name: str,
    sb: Sandbox,  # noqa: F811
    workdir: Path,  # noqa: F811
    more: Path,
) -> None:
    case = CASES[name]
    overrides = {
        k: (v.replace("{m}", str(more)) if v is not None else None) for k, v in case.env.items()
    }
    env = _environment(sb, workdir, overrides)
    args = [a.replace("{d}", str(workdir)).replace("{m}", str(more)) for a in case.args]
    sb.reset_calls()
    result = CliRunner().invoke(cli, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{name}: uncaught {result.exception!r}") from result.exception
    _check(name, result.exit_code, result.stdout, result.stderr, case.fragment)
    assert mutating_calls(sb) == [], f"{name}: changed the sandbox"
