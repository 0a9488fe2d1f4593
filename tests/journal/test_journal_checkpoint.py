"""The enforcement checkpoint (rootctl.enforce.checkpoint) on both journal backends.

A pass journals the recovery windows as of the entry it read up to; the next pass reads
only the entries after that. Proved here by observing the reads, not faking them: for
sqlite a trace callback on the journal's own connections records each statement with its
bound id range; for DynamoDB a botocore event handler on the journal's own client records
each Query's key range and the items it returned. What the checkpoint gives must equal what
the old whole-journal read gives (`_full_read`), with other writers in between.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import test_journal_contract as contract
from test_journal_contract import Backend

import rootctl.journal.store as sqlite_backend
from rootctl.enforce.checkpoint import read_since_checkpoint
from rootctl.enforce.windows import ACTION, RecoveryWindow, window_state
from rootctl.integrations.sns import previous_ids
from rootctl.journal import Journal, JournalEntry, UnverifiedJournal
from rootctl.results import iso

backend = contract.backend
sb = contract.sb
aws_env = contract.aws_env

A, B, C = "333333333333", "444444444444", "555555555555"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _filler(journal: Journal, count: int) -> None:
    for i in range(count):
        journal.append(
            JournalEntry(
                command="delete-credentials",
                action="assume-root",
                outcome="ok",
                account_id=A if i % 2 else B,
                run_id=f"fill-{i // 50}",
            )
        )


def _window(journal: Journal, account: str, until: datetime) -> int:
    entry = journal.append(
        JournalEntry(
            command="allow-password-recovery",
            action=ACTION,
            outcome="ok",
            account_id=account,
            target="login-profile",
            after={"opened": iso(NOW), "until": iso(until)},
            run_id=f"window-{account}",
        )
    )
    return entry.id


def _pass(journal: Journal, run_id: str, *, read: Any = None, ids: list[str] | None = None) -> int:
    """What run_pass journals: an `enforce` entry with the checkpoint of the state it read
    (`read`: a WindowState read earlier, as a pass that ran meanwhile would have)."""
    state = read if read is not None else window_state(journal)
    entry = journal.append(
        JournalEntry(
            command="enforce",
            action="enforce",
            outcome="ok",
            run_id=run_id,
            after={"finding_ids": ids or [], "checkpoint": state.checkpoint()},
        )
    )
    return entry.id


def _full_read(journal: Journal) -> dict[str, RecoveryWindow]:
    """The whole-journal read the checkpoint replaces (windows.py before it)."""
    latest: dict[str, RecoveryWindow] = {}
    for entry in journal.verified_entries(action=ACTION, outcome="ok"):
        until = datetime.fromisoformat(str(entry.after["until"]).replace("Z", "+00:00"))
        latest[str(entry.account_id)] = RecoveryWindow(str(entry.account_id), until, entry.id)
    return latest


PRIOR = 400  # entries before the checkpoint; a read of them would show in the ranges
# In the sandbox's DynamoDB each append costs two moto calls (~20 ms of CPU): 60 entries
# are still more than three 16-id pages below the checkpoint, so a read of them would show.
PRIOR_DYNAMODB = 60


def _prior(backend: Backend) -> int:
    return PRIOR if backend.name == "sqlite" else PRIOR_DYNAMODB


def test_the_checkpoint_and_the_entries_after_it_give_what_the_whole_journal_gives(
    backend: Backend,
) -> None:
    journal = backend.open()
    _window(journal, A, NOW + timedelta(hours=4))  # open
    _window(journal, B, NOW - timedelta(hours=1))  # ended
    _filler(journal, _prior(backend))
    checkpoint_id = _pass(journal, "pass-1")
    # After the checkpoint: a window opened, one closed early (a later, shorter window).
    opened = _window(journal, C, NOW + timedelta(hours=2))
    closed = _window(journal, A, NOW - timedelta(minutes=5))
    _filler(journal, 3)
    state = window_state(journal)
    assert state.windows == _full_read(journal)
    assert state.windows[C].entry_id == opened and state.windows[A].entry_id == closed
    assert not state.windows[A].is_open(NOW) and state.windows[B].until < NOW
    assert state.through == closed + 3
    assert state.first_read == checkpoint_id  # its `through` is the entry before it
    # The next pass's checkpoint carries them all, as of the head it read.
    checkpoint = state.checkpoint()
    assert checkpoint is not None and checkpoint["through"] == closed + 3
    assert set(checkpoint["windows"]) == {A, B, C}


def test_sqlite_asks_only_for_the_ranges_since_the_checkpoint(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        _window(journal, A, NOW + timedelta(hours=4))
        _filler(journal, PRIOR)
        checkpoint_id = _pass(journal, "pass-1")
        _window(journal, C, NOW + timedelta(hours=2))
        _filler(journal, 3)
        head = checkpoint_id + 4
    statements: list[str] = []
    real = sqlite_backend.connect

    def traced(*args: Any, **kwargs: Any) -> Any:
        conn, before = real(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn, before

    monkeypatch.setattr(sqlite_backend, "connect", traced)
    with Journal(path) as journal:
        state = window_state(journal)
    assert set(state.windows) == {A, C} and state.first_read == checkpoint_id
    reads = [s for s in statements if "FROM entries" in s]
    asked = [re.search(r"id > (\d+) AND id <= (\d+)", s) for s in reads]
    ranges = [(int(m.group(1)), int(m.group(2))) for m in asked if m is not None]
    # One range of 16 ids from the head down (it holds the checkpoint), then verify_since
    # from the newest entry read: nothing below the first range.
    assert ranges == [(head - 16, head)], reads
    assert len(reads) == 2 and reads[1].endswith(f"id >= {head} ORDER BY id"), reads


@pytest.mark.usefixtures("aws_env")
def test_dynamodb_items_returned_are_the_entries_since_the_checkpoint(sb: Any) -> None:
    journal = contract._dynamodb(sb).open()
    _window(journal, A, NOW + timedelta(hours=4))
    _filler(journal, PRIOR_DYNAMODB)
    checkpoint_id = _pass(journal, "pass-1")
    _window(journal, C, NOW + timedelta(hours=2))
    head = checkpoint_id + 1
    client = journal._ddb()  # type: ignore[attr-defined]
    returned: list[int] = []

    def on_answer(parsed: dict[str, Any], **_: Any) -> None:
        returned.extend(int(item["sk"]["N"]) for item in parsed.get("Items", []))

    client.meta.events.register("after-call.dynamodb.Query", on_answer)
    try:
        state = window_state(journal)
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", on_answer)
    assert set(state.windows) == {A, C}
    returned_by_pass = list(returned)
    returned.clear()
    client.meta.events.register("after-call.dynamodb.Query", on_answer)
    try:
        assert previous_ids(journal, "this-run") == set()
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", on_answer)
    assert returned == list(range(head, head - 16, -1))  # one range: the pass entry is in it
    returned = returned_by_pass
    # The 16-id range from the head (the rest of it below the checkpoint is returned by
    # the Query, never decoded), then verify_since from the head entry: the head alone.
    assert sorted(returned) == sorted([*range(head - 15, head + 1), head]), returned
    assert min(returned) > PRIOR_DYNAMODB - 16


def test_edits_before_the_checkpoint_are_not_read(backend: Backend) -> None:
    """The trade, as for verify_since: entries the checkpoint summarises are trusted (the
    full verify, `rootctl journal verify`, still names an edit there)."""
    journal = backend.open()
    _window(journal, A, NOW + timedelta(hours=4))
    _filler(journal, 40)
    _pass(journal, "pass-1")
    _window(journal, C, NOW + timedelta(hours=2))
    _filler(journal, 20)
    backend.edit(2, "after", "{not json")  # beyond the ranges a newest-first read asks for
    backend.edit(1, "after", '{"until": "2099-01-01T00:00:00Z"}')  # would keep A open
    state = window_state(journal)
    assert state.windows[A].until == NOW + timedelta(hours=4)
    assert journal.verify().first_bad_id == 1


@pytest.mark.parametrize("what", ["window", "checkpoint", "tail"])
def test_edits_after_the_checkpoint_are_refused(backend: Backend, what: str) -> None:
    journal = backend.open()
    _filler(journal, 40)
    checkpoint_id = _pass(journal, "pass-1")
    window_id = _window(journal, C, NOW + timedelta(hours=2))
    _filler(journal, 20)
    if what == "window":  # keep the window open for ever
        backend.edit(window_id, "after", '{"until": "2099-01-01T00:00:00Z"}')
    elif what == "checkpoint":  # a checkpoint that claims more than it read
        backend.edit(
            checkpoint_id,
            "after",
            f'{{"checkpoint":{{"through":{window_id},"version":1,"windows":{{}}}}}}',
        )
    else:  # the last entry deleted, the head record still counting it
        backend.drop(window_id + 20)
    with pytest.raises(UnverifiedJournal, match="does not verify"):
        window_state(journal)


def test_a_window_opened_while_a_pass_runs_is_not_lost(backend: Backend) -> None:
    """Two passes and an operator at once: pass 1 reads, the operator opens a window,
    pass 2 reads and journals its checkpoint, pass 1 journals its (older) checkpoint last."""
    journal = backend.open()
    _filler(journal, 30)
    _pass(journal, "pass-0")
    read_1 = window_state(journal)
    opened = _window(journal, C, NOW + timedelta(hours=2))  # while pass 1 runs
    read_2 = window_state(journal)
    assert C in read_2.windows
    _pass(journal, "pass-2", read=read_2)
    _filler(journal, 5)
    _pass(journal, "pass-1", read=read_1)  # newest entry, oldest checkpoint: through < opened
    state = window_state(journal)
    assert state.windows == _full_read(journal)
    assert state.windows[C].entry_id == opened
    assert state.first_read == read_1.through + 1  # it read from pass 1's checkpoint on


def test_without_a_checkpoint_the_whole_journal_is_read(backend: Backend) -> None:
    journal = backend.open()
    _window(journal, A, NOW + timedelta(hours=4))
    _filler(journal, 20)
    journal.append(JournalEntry(command="enforce", action="enforce", outcome="ok", after={}))
    state = window_state(journal)
    assert state.first_read == 1 and state.windows == _full_read(journal)
    since = read_since_checkpoint(journal)
    assert since.checkpoint is None and [e.id for e in since.entries] == list(range(1, 23))


def test_previous_finding_ids_stop_at_the_previous_pass(backend: Backend) -> None:
    journal = backend.open()
    _pass(journal, "pass-1", ids=["old"])
    _filler(journal, _prior(backend))
    _pass(journal, "pass-2", ids=["a", "b"])
    _filler(journal, 10)
    _pass(journal, "pass-3", ids=["a"])  # this pass: its own entry is skipped
    assert previous_ids(journal, "pass-3") == {"a", "b"}
    assert previous_ids(journal, "pass-9") == {"a"}
