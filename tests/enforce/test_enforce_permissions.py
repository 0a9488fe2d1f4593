"""`rootctl permissions enforce|watch` cover every call the pass and the watch make."""

from __future__ import annotations

from pathlib import Path

from enforce_helpers import invoke, write_config

from rootctl.permissions import policy_document, requirements_for
from rootctl.sandbox import Sandbox
from rootctl.tasks import Task

from support import PAYMENTS_PROD

PASSES = {
    "enforce": ("enforce", "--watch-since", "1h", "--yes", "-o", "json"),
    "watch": ("watch", "--since", "1h", "-o", "json"),
}


def test_every_operator_call_of_enforce_and_watch_is_in_its_policy(
    enabled_sandbox: Sandbox, tmp_path: Path
) -> None:
    sb, journal = enabled_sandbox, tmp_path / "journal.db"
    config = write_config(tmp_path, "delete")
    operator = sb.operator
    assert operator is not None
    sb.control("root-sign-in", "POST", {"account_id": PAYMENTS_PROD})
    for command, args in PASSES.items():
        sb.reset_calls()
        result = invoke(sb, args[0], "-c", str(config), *args[1:], journal=journal)
        assert result.exit_code in (0, 3), result.output
        needs = requirements_for([command])
        granted = {
            a
            for s in policy_document(needs)["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        operator_calls = [c for c in sb.calls() if c["access_key_id"] == operator.access_key_id]
        assert operator_calls
        for call in operator_calls:
            assert f"{call['service']}:{call['action']}" in granted, (command, call)
        for call in sb.calls():
            if call["principal_kind"] == "root-session":
                assert call["task"] in {t.value for t in needs.tasks}, (command, call)
    assert requirements_for(["enforce"]).tasks == {Task.AUDIT, Task.DELETE}
    assert not requirements_for(["watch"]).tasks  # the watch opens no root session
