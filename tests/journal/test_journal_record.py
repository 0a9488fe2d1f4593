"""The run recorder: shared fields, the operator found once, and the session entries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rootctl.journal import ASSUME_ROOT, Journal, Recorder, root_arn
from rootctl.results import iso
from rootctl.tasks import Task

ACCOUNT = "333333333333"
EXPIRATION = datetime(2025, 1, 31, 12, 15, tzinfo=UTC)


def test_entries_share_the_run_and_the_operator_is_found_once(tmp_path: Path) -> None:
    calls: list[None] = []

    def operator() -> str:
        calls.append(None)
        return "arn:aws:iam::111111111111:role/Ops"

    with Journal(tmp_path / "j.sqlite3") as journal:
        recorder = Recorder(journal, "unlock s3", operator, "INC-42")
        assert calls == []  # nothing asked before the first entry
        first = recorder.append("unlock", "skipped", account_id=ACCOUNT, task=Task.S3_UNLOCK)
        second = recorder.append("exec", "ok")
        assert len(calls) == 1
        for entry in (first, second):
            assert (entry.command, entry.reason, entry.run_id) == (
                "unlock s3",
                "INC-42",
                recorder.run_id,
            )
            assert entry.operator == "arn:aws:iam::111111111111:role/Ops"
        assert (first.task_policy, second.task_policy) == ("S3UnlockBucketPolicy", None)


def test_session_entries_keep_each_commands_expiration_spelling(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        sessions = Recorder(journal, "exec", lambda: None)
        sessions.session_opened(ACCOUNT, Task.S3_UNLOCK, "ASIAEXAMPLE", EXPIRATION)
        credentials = Recorder(journal, "audit", "op", format_expiration=iso)
        credentials.session_opened(ACCOUNT, Task.AUDIT, "ASIAEXAMPLE2", EXPIRATION)
        failed = credentials.session_failed(ACCOUNT, Task.AUDIT, "AccessDenied: no")
        opened = journal.list(action=ASSUME_ROOT, outcome="ok")
    assert [e.after for e in opened] == [
        {"access_key_id": "ASIAEXAMPLE", "expiration": "2025-01-31T12:15:00+00:00"},
        {"access_key_id": "ASIAEXAMPLE2", "expiration": "2025-01-31T12:15:00Z"},
    ]
    assert {e.target for e in opened} == {root_arn(ACCOUNT)} == {failed.target}
    assert opened[0].operator is None and opened[1].operator == "op"
    assert (failed.outcome, failed.error, failed.after) == ("error", "AccessDenied: no", None)
