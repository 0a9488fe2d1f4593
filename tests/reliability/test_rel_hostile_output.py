"""Untrusted text at every output: an account admin renames their account to attack the operator.

Twelve hostile account names (terminal escapes that clear the screen or write the clipboard,
forged lines through CR and LF, bidi and C1 controls, Rich markup, spreadsheet formulas), a
hostile OU name and a hostile SCP name live in a sandbox organization. Every human output
must show them escaped on one line (`rootctl.text.clean`), never interpret them; CSV must
neutralise formulas (OWASP); HTML must escape them; JSON must carry them faithfully with no
raw control character in the text. Tables off a terminal keep their natural width: no
account id is cut across lines.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rootctl.sandbox import Sandbox
from rootctl.text import clean, csv_cell

from support import enabled_fixture, mutating_calls, run_cli

HOSTILE: dict[str, str] = {
    "clear screen": "\x1b[2J\x1b[Hwiped",
    "osc52 clipboard": "\x1b]52;c;cm0gLXJmIH4=\x07copied",
    "cr forged": "innocent\rerror: forged by cr",
    "lf forged": "innocent\nerror: forged by lf",
    "bidi override": "invoice\u202etxt.exe",
    "c1 csi": "c1\x9b2Jcsi",
    "rich markup": "[red]ALARM[/red][link=http://evil]x[/link]",
    "formula cmd": "=cmd|' /C calc'!A0",
    "formula sum": "@SUM(1+1)*cmd|' /C calc'!A0",
    "formula minus": "-2+3+cmd|' /C calc'!A0",
    "tab start": "\t=1+1",
    "html script": "<script>alert(1)</script>",
}
# Characters that must never reach a terminal raw (C0 but none; DEL; C1; bidi controls).
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE_OU = "/root/\x1b[31mred-ou\u202e"
HOSTILE_POLICY = "deny\x1b]52;c;ZXZpbA==\x07[bold]root[/bold]"
BASE_ID = 810000000000


def _id(index: int) -> str:
    return str(BASE_ID + index)


def _fixture() -> dict[str, Any]:
    accounts = [
        {
            "id": _id(i),
            "name": name,
            "ou": HOSTILE_OU,
            "root": {"password": {"created": "2020-01-01"}},
        }
        for i, name in enumerate(HOSTILE.values())
    ]
    data = enabled_fixture()
    organization: dict[str, Any] = data["organization"]
    organization["organizational_units"].append(HOSTILE_OU)
    organization["accounts"].extend(accounts)
    # On another OU: the sandbox cannot put a policy name with ESC into an XML error answer
    # (XML 1.0 has no way to carry it), so the hostile accounts themselves stay unblocked.
    organization["policies"] = [
        {"name": HOSTILE_POLICY, "template": "deny_actions_as_root", "targets": ["/root/sandbox"]}
    ]
    data.pop("generate", None)
    return data


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox.start(_fixture()) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile") / "journal.db"


def _run(sb: Sandbox, journal: Path, *args: str) -> tuple[int, str, str]:
    proc = run_cli(sb, *args, journal=journal, env={"COLUMNS": "80"})
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.returncode, proc.stdout, proc.stderr


def _assert_terminal_safe(name: str, text: str, expected: list[str]) -> None:
    """No raw control, every expected value escaped and whole on one line."""
    raw = RAW.search(text)
    assert raw is None, f"{name}: raw {raw.group(0)!r} in output:\n{text[-2000:]}"
    assert not any(line.startswith("error: forged") for line in text.splitlines()), name
    lines = text.splitlines()
    for value in expected:
        shown = clean(value)
        assert any(shown in line for line in lines), f"{name}: {shown!r} not on one line:\n{text}"


# (command, expected exit codes, values that must appear escaped)
TABLES: dict[str, tuple[tuple[str, ...], tuple[int, ...], list[str]]] = {
    "audit": (("audit",), (0, 1), [*HOSTILE.values(), HOSTILE_OU]),
    "delete-credentials plan": (
        ("delete-credentials", "--dry-run", "--reason", "OPS-1"),
        (0, 1),
        [*HOSTILE.values(), HOSTILE_OU],
    ),
    "guardrails check": (
        ("guardrails", "check"),
        (0, 1),
        [*HOSTILE.values(), HOSTILE_OU, HOSTILE_POLICY],
    ),
    "status": (("status",), (0, 1), []),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_escape_hostile_names(name: str, sb: Sandbox, journal: Path) -> None:
    args, codes, expected = TABLES[name]
    sb.reset_calls()
    code, out, err = _run(sb, journal, *args)
    assert code in codes, err
    _assert_terminal_safe(name, out + err, expected)
    for index in range(len(HOSTILE)):
        if name != "status":
            assert _id(index) in out, f"{name}: account id {_id(index)} cut or missing"
    if name in ("audit", "delete-credentials plan", "guardrails check"):
        assert not [c for c in mutating_calls(sb) if c.get("action") != "AssumeRoot"]


def test_no_table_line_is_cut_at_80_columns_on_a_pipe(sb: Sandbox, journal: Path) -> None:
    _, out, _ = _run(sb, journal, "audit")
    assert max(len(line) for line in out.splitlines()) > 80
    for index in range(len(HOSTILE)):
        assert sum(_id(index) in line for line in out.splitlines()) == 1


def test_csv_neutralises_formulas(sb: Sandbox, journal: Path, tmp_path: Path) -> None:
    code, out, err = _run(sb, journal, "audit", "-o", "csv")
    assert code in (0, 1), err
    rows = {row["account_id"]: row for row in csv.DictReader(io.StringIO(out))}
    for index, value in enumerate(HOSTILE.values()):
        row = rows[_id(index)]
        # run_cli runs in-process: the bytes as written (no universal-newline translation),
        # so a CR inside a quoted cell stays a CR and the row itself must not be split.
        assert row["account_name"] == csv_cell(value)
        assert row["ou_path"] == csv_cell(HOSTILE_OU)
        assert not row["account_name"].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert len(rows) == len(list(csv.DictReader(io.StringIO(out))))  # no forged row
    for row in rows.values():
        for cell in row.values():
            assert not (cell or "").startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_html_escapes(sb: Sandbox, journal: Path) -> None:
    code, out, err = _run(sb, journal, "audit", "-o", "html")
    assert code in (0, 1), err
    assert "<script>alert(1)</script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "[red]ALARM[/red]" in out  # shown as text, nothing to interpret in HTML
    assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out


@pytest.mark.parametrize(
    "fmt",
    ["json", "ocsf", "asff"],
)
def test_json_is_faithful_and_has_no_raw_controls(fmt: str, sb: Sandbox, journal: Path) -> None:
    code, out, err = _run(sb, journal, "audit", "-o", fmt)
    assert code in (0, 1), err
    raw = re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)
    assert raw is None, f"raw {raw.group(0)!r} in {fmt}"
    document = json.loads(out)
    text = json.dumps(document, ensure_ascii=False)
    for value in HOSTILE.values():
        assert json.dumps(value, ensure_ascii=False)[1:-1] in text, value


def test_json_audit_keeps_names_exactly(sb: Sandbox, journal: Path) -> None:
    _, out, _ = _run(sb, journal, "audit", "-o", "json")
    names = {a["account_id"]: a["account_name"] for a in json.loads(out)["accounts"]}
    for index, value in enumerate(HOSTILE.values()):
        assert names[_id(index)] == value


def test_delete_then_events_and_journal_are_safe(sb: Sandbox, journal: Path) -> None:
    accounts = ",".join(_id(i) for i in range(len(HOSTILE)))
    code, out, err = _run(
        sb, journal, "delete-credentials", "--accounts", accounts, "--reason",
        "OPS-1 \x1b[2J\u202e", "--yes",
    )  # fmt: skip
    assert code in (0, 1, 2), err
    _assert_terminal_safe("delete-credentials", out + err, [])
    for args in (("events",), ("journal", "list"), ("journal", "show", "1")):
        code, out, err = _run(sb, journal, *args)
        _assert_terminal_safe(" ".join(args), out + err, [])
