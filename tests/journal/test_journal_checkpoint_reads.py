"""The two reads the checkpoint now bounds too: delete-credentials' unfinished steps
(rootctl.credentials.resume) and the watch cursor (rootctl.enforce.watch), on both backends.

Each is compared with the whole-journal read it replaces (`_full_unfinished`, `_full_cursor`:
the code before issue 15's remainder, kept here as the oracle), across the cases where a
summary could lose something: a plan before the checkpoint finished after it, a failed call
before it retried after, a serial reused after it was done, several checkpoints, a pass that
journals an older read last, an unreadable plan, a checkpoint from before these parts. The
reads are observed as tests/journal/test_journal_checkpoint.py observes them (sqlite: the
statements on the journal's own connections; DynamoDB: the items each Query returned).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import test_journal_contract as contract
from test_journal_contract import Backend

import rootctl.journal.store as sqlite_backend
from rootctl.credentials.plan import Step
from rootctl.credentials.resume import step_state, unfinished_steps
from rootctl.enforce.checkpoint import read_since_checkpoint
from rootctl.enforce.watch import CURSOR_ACTION, Cursor, last_cursor
from rootctl.enforce.windows import window_state
from rootctl.journal import Journal, JournalEntry, JournalError, UnverifiedJournal
from rootctl.results import iso

backend = contract.backend
sb = contract.sb
aws_env = contract.aws_env

A, B, C = "333333333333", "444444444444", "555555555555"
ACCOUNTS = (A, B, C)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY, CERT = "AKIAEXAMPLE0001", "CERTEXAMPLE0001"
SERIAL = "arn:aws:iam::333333333333:mfa/root-account-mfa-device"
STEPS = {
    "delete-login-profile": ("password", "login-profile"),
    "delete-access-key": ("access-keys", KEY),
    "delete-signing-certificate": ("signing-certificates", CERT),
    "deactivate-mfa-device": ("mfa-devices", SERIAL),
    "delete-virtual-mfa-device": ("mfa-devices", SERIAL),
}


# -- what the journal holds ---------------------------------------------------------------


def _plan(journal: Journal, account: str, *actions: str, run: str = "run") -> int:
    steps = [
        {"action": a, "kind": STEPS[a][0], "target": STEPS[a][1], "before": {"n": i}}
        for i, a in enumerate(actions)
    ]
    entry = JournalEntry(
        command="delete-credentials",
        action="plan",
        outcome="planned",
        account_id=account,
        before={"account_id": account, "steps": steps, "kept": [], "reconciled": []},
        run_id=run,
    )
    return journal.append(entry).id


def _call(journal: Journal, account: str, action: str, outcome: str = "ok") -> int:
    error = "InternalFailure: try"
    entry = JournalEntry(
        command="delete-credentials",
        action=action,
        outcome=outcome,
        account_id=account,
        target=STEPS[action][1],
        error=error if outcome == "error" else None,
        run_id="run",
    )
    return journal.append(entry).id


def _cursor(journal: Journal, minutes: int, *recent: str, command: str = "watch") -> int:
    until = NOW + timedelta(minutes=minutes)
    entry = JournalEntry(
        command=command,
        action=CURSOR_ACTION,
        outcome="ok",
        after={"start": iso(NOW), "until": iso(until), "recent": list(recent), "findings": []},
        run_id=f"watch-{minutes}",
    )
    return journal.append(entry).id


def _filler(journal: Journal, count: int) -> None:
    for _ in range(count):
        journal.append(
            JournalEntry(
                command="enforce", action="assume-root", outcome="ok", account_id=B, run_id="f"
            )
        )


def _pass(journal: Journal, run_id: str, read: Any = None) -> int:
    """What run_pass journals: its `enforce` entry with the checkpoint of what it read."""
    state = read if read is not None else window_state(journal)
    entry = JournalEntry(
        command="enforce",
        action="enforce",
        outcome="ok",
        run_id=run_id,
        after={"finding_ids": [], "checkpoint": state.checkpoint()},
    )
    return journal.append(entry).id


# -- the whole-journal reads these replace (the code before) ------------------------------


def _full_unfinished(journal: Journal, accounts: Any) -> dict[str, set[tuple[Any, ...]]]:
    from rootctl.credentials.resume import _steps

    wanted = set(accounts)
    entries = [
        e for e in journal.verified_entries(command="delete-credentials") if e.account_id in wanted
    ]
    planned: dict[tuple[str, str, str], tuple[int, Step]] = {}
    for entry in entries:
        if entry.action != "plan" or not isinstance(entry.before, dict):
            continue
        for step in _steps(entry):
            planned[(str(entry.account_id), step.action, step.target)] = (entry.id, step)
    latest: dict[str, dict[tuple[str, str, str], tuple[int, Any]]] = {"ok": {}, "error": {}}
    for entry in entries:
        if entry.outcome in latest and entry.target is not None:
            key = (str(entry.account_id), entry.action, entry.target)
            latest[entry.outcome][key] = (entry.id, entry.error)
    found: dict[str, set[tuple[Any, ...]]] = {}
    for key, (plan_id, step) in planned.items():
        if plan_id > latest["ok"].get(key, (0, None))[0]:
            error_id, error = latest["error"].get(key, (0, None))
            if error_id > plan_id:
                step = replace(step, failed_call=f"journal entry {error_id}: {error}")
            found.setdefault(key[0], set()).add(_shape(step))
    return found


def _shape(step: Step) -> tuple[Any, ...]:
    return (
        step.action,
        step.kind,
        step.target,
        tuple(sorted(step.before.items())),
        step.failed_call,
    )


def _unfinished(journal: Journal, accounts: Any = ACCOUNTS) -> dict[str, set[tuple[Any, ...]]]:
    return {
        a: {_shape(s) for s in steps} for a, steps in unfinished_steps(journal, accounts).items()
    }


def _full_cursor(journal: Journal) -> Cursor | None:
    latest = None
    for entry in journal.verified_entries(action=CURSOR_ACTION, outcome="ok"):
        after = entry.after if isinstance(entry.after, dict) else {}
        try:
            until = datetime.fromisoformat(str(after.get("until")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if isinstance(after.get("recent"), list):
            latest = Cursor(until, frozenset(str(r) for r in after["recent"]), entry.id)
    return latest


def _exact(journal: Journal) -> None:
    assert _unfinished(journal) == _full_unfinished(journal, ACCOUNTS)
    assert last_cursor(journal) == _full_cursor(journal)


# -- exactness ----------------------------------------------------------------------------


def test_steps_planned_before_the_checkpoint_are_carried_and_finished_after_it(
    backend: Backend,
) -> None:
    journal = backend.open()
    _plan(journal, A, "delete-login-profile", "deactivate-mfa-device", "delete-virtual-mfa-device")
    _call(journal, A, "delete-login-profile")
    _call(journal, A, "deactivate-mfa-device")  # killed before the virtual device's deletion
    plan_b = _plan(journal, B, "delete-access-key", "delete-signing-certificate")
    failed = _call(journal, B, "delete-access-key", "error")
    _call(journal, B, "delete-signing-certificate", "error")
    _cursor(journal, 10, "ev-1")
    _filler(journal, 30)
    checkpoint_id = _pass(journal, "pass-1")
    raw = journal.get(checkpoint_id).after["checkpoint"]
    assert set(raw["steps"]["pending"]) == {A, B}
    assert [s["action"] for s in raw["steps"]["pending"][A]] == ["delete-virtual-mfa-device"]
    assert raw["cursor"]["recent"] == ["ev-1"]
    _filler(journal, 5)
    _exact(journal)
    left = unfinished_steps(journal, [A, B])
    assert [(s.action, s.before) for s in left[A]] == [("delete-virtual-mfa-device", {"n": 2})]
    assert [s.action for s in left[B]] == ["delete-access-key", "delete-signing-certificate"]
    assert left[B][0].failed_call == f"journal entry {failed}: InternalFailure: try"
    # After the checkpoint: B's key retried and done, A's device done; B's cert still failing.
    _call(journal, B, "delete-access-key")
    _call(journal, A, "delete-virtual-mfa-device")
    cert_error = _call(journal, B, "delete-signing-certificate", "error")
    _exact(journal)
    left = unfinished_steps(journal, [A, B])
    assert list(left) == [B] and [s.action for s in left[B]] == ["delete-signing-certificate"]
    assert left[B][0].failed_call == f"journal entry {cert_error}: InternalFailure: try"
    # Planned again after the checkpoint: the older failed call no longer names it.
    replanned = _plan(journal, B, "delete-signing-certificate")
    assert unfinished_steps(journal, [B])[B][0].failed_call is None
    assert replanned > plan_b
    _exact(journal)


def test_a_serial_done_before_the_checkpoint_and_planned_again_after_it_is_unfinished(
    backend: Backend,
) -> None:
    journal = backend.open()
    _plan(journal, A, "deactivate-mfa-device", "delete-virtual-mfa-device")
    _call(journal, A, "deactivate-mfa-device")
    _call(journal, A, "delete-virtual-mfa-device")
    _pass(journal, "pass-1")
    assert journal.list(action="enforce")[0].after["checkpoint"]["steps"]["pending"] == {}
    assert unfinished_steps(journal, [A]) == {}
    # The same ARN when a new device is set up: a new plan, killed after deactivating it.
    _plan(journal, A, "deactivate-mfa-device", "delete-virtual-mfa-device")
    _call(journal, A, "deactivate-mfa-device")
    _exact(journal)
    assert [s.action for s in unfinished_steps(journal, [A])[A]] == ["delete-virtual-mfa-device"]


def test_several_checkpoints_and_a_pass_that_journals_an_older_read_last(
    backend: Backend,
) -> None:
    journal = backend.open()
    _plan(journal, A, "delete-login-profile", "delete-access-key")
    _cursor(journal, 5, "ev-0")
    _pass(journal, "pass-1")
    read_slow = window_state(journal)  # a long pass reads here ...
    _call(journal, A, "delete-login-profile", "error")  # ... an operator's run meanwhile
    _plan(journal, C, "delete-access-key")
    _cursor(journal, 20, "ev-1")
    _pass(journal, "pass-2")  # a quick pass reads all that and ends first
    _exact(journal)
    _call(journal, C, "delete-access-key")
    _pass(journal, "pass-slow", read=read_slow)  # newest entry, oldest checkpoint
    since = read_since_checkpoint(journal)
    assert since.checkpoint is not None and since.checkpoint.through == read_slow.through
    _exact(journal)
    left = unfinished_steps(journal, ACCOUNTS)
    assert set(left) == {A} and left[A][0].failed_call is not None
    assert last_cursor(journal) == _full_cursor(journal) != read_slow.cursor
    _pass(journal, "pass-3")
    _exact(journal)


def test_unfinished_steps_come_in_plan_order_from_a_checkpoint_and_without_one(
    backend: Backend,
) -> None:
    journal = backend.open()
    _plan(journal, A, "delete-access-key", "delete-login-profile")
    _plan(journal, A, "delete-signing-certificate", "delete-access-key")  # a re-run's plan
    order = ["delete-signing-certificate", "delete-access-key", "delete-login-profile"]
    assert [s.action for s in unfinished_steps(journal, [A])[A]] != order  # by (plan, place):
    expected = ["delete-login-profile", "delete-signing-certificate", "delete-access-key"]
    assert [s.action for s in unfinished_steps(journal, [A])[A]] == expected
    _pass(journal, "pass-1")
    assert [s.action for s in unfinished_steps(journal, [A])[A]] == expected


def test_an_unreadable_plan_before_the_checkpoint_still_stops_its_account_only(
    backend: Backend,
) -> None:
    journal = backend.open()
    bad = journal.append(
        JournalEntry(
            command="delete-credentials",
            action="plan",
            outcome="planned",
            account_id=C,
            before={"steps": [{"action": "format-disk", "kind": "x", "target": "y"}]},
        )
    ).id
    _plan(journal, A, "delete-login-profile")
    with pytest.raises(JournalError, match=f"journal entry {bad} plans an unknown step") as full:
        _full_unfinished(journal, [C])
    checkpoint_id = _pass(journal, "pass-1")  # the pass itself is not stopped by it
    assert read_since_checkpoint(journal).checkpoint is not None
    with pytest.raises(JournalError) as carried:
        unfinished_steps(journal, [A, C])
    assert str(carried.value) == str(full.value)
    assert set(unfinished_steps(journal, [A])) == {A}
    assert journal.get(checkpoint_id).after["checkpoint"]["steps"]["unreadable"] == {
        C: {"entry_id": bad, "error": str(full.value)}
    }


def test_a_checkpoint_without_the_new_parts_is_read_past(backend: Backend) -> None:
    """A checkpoint written before `steps` and `cursor` existed (windows only) cannot say
    what was pending: the read goes on down (here to entry 1), and is still exact."""
    journal = backend.open()
    _plan(journal, A, "delete-access-key")
    _cursor(journal, 5, "ev-0")
    _filler(journal, 20)
    journal.append(
        JournalEntry(
            command="enforce",
            action="enforce",
            outcome="ok",
            after={"checkpoint": {"version": 1, "through": 23, "windows": {}}},
        )
    )
    _filler(journal, 3)
    since = read_since_checkpoint(journal)
    assert since.checkpoint is None and since.first_read == 1
    _exact(journal)
    assert set(unfinished_steps(journal, [A])) == {A}
    new = _pass(journal, "pass-new")  # the first pass after the upgrade writes a complete one
    since = read_since_checkpoint(journal)
    assert since.checkpoint is not None and since.checkpoint.entry_id == new
    _exact(journal)


@pytest.mark.parametrize("what", ["plan", "call", "cursor", "checkpoint", "tail"])
def test_edits_in_what_is_read_are_refused(backend: Backend, what: str) -> None:
    journal = backend.open()
    _filler(journal, 20)
    checkpoint_id = _pass(journal, "pass-1")
    plan = _plan(journal, A, "delete-access-key")
    call = _call(journal, A, "delete-access-key", "error")
    cursor = _cursor(journal, 5, "ev-0")
    _filler(journal, 10)
    if what == "plan":  # a forged plan naming another key
        backend.edit(
            plan,
            "before",
            '{"steps":[{"action":"delete-access-key","kind":"access-keys","target":"AKIAOTHER","before":{}}]}',
        )
    elif what == "call":  # a failure turned into a success
        backend.edit(call, "outcome", "ok")
    elif what == "cursor":  # the cursor moved on, past events never read
        backend.edit(cursor, "after", '{"until": "2099-01-01T00:00:00Z", "recent": []}')
    elif what == "checkpoint":  # a checkpoint that claims nothing was pending up to the head
        backend.edit(
            checkpoint_id,
            "after",
            f'{{"checkpoint":{{"through":{checkpoint_id - 1},"version":1,"windows":{{}},'
            '"steps":{"pending":{},"unreadable":{}},"cursor":null}}',
        )
    else:
        backend.drop(cursor + 10)
    with pytest.raises(UnverifiedJournal, match="does not verify"):
        unfinished_steps(journal, [A])
    if what in ("cursor", "tail"):
        with pytest.raises(UnverifiedJournal, match="does not verify"):
            last_cursor(journal)
    else:  # the cursor read stops at the cursor entry: the edit is below what it reads
        cursor_read = last_cursor(journal)
        assert cursor_read is not None and cursor_read.entry_id == cursor


def test_edits_before_the_checkpoint_are_not_read(backend: Backend) -> None:
    """The checkpoint's trade (docs/journal.md): what it summarises is trusted as written."""
    journal = backend.open()
    plan = _plan(journal, A, "delete-access-key")
    _filler(journal, 40)
    _pass(journal, "pass-1")
    _filler(journal, 40)
    backend.edit(plan, "before", "{not json")
    assert set(unfinished_steps(journal, [A])) == {A}
    assert journal.verify().first_bad_id == plan


def test_the_cursor_from_a_checkpoint_and_from_the_entries_after_it(backend: Backend) -> None:
    journal = backend.open()
    assert last_cursor(journal) is None
    _filler(journal, 10)
    _pass(journal, "pass-0")  # no cursor yet: the checkpoint says so (null)
    _filler(journal, 10)
    assert last_cursor(journal) is None and _full_cursor(journal) is None
    first = _cursor(journal, 5, "ev-1", command="enforce")
    _filler(journal, 10)
    _pass(journal, "pass-1")
    _filler(journal, 10)
    assert last_cursor(journal) == _full_cursor(journal)
    assert last_cursor(journal).entry_id == first  # type: ignore[union-attr]
    second = _cursor(journal, 30, "ev-2", "ev-3")
    _filler(journal, 3)
    assert last_cursor(journal) == Cursor(
        NOW + timedelta(minutes=30), frozenset({"ev-2", "ev-3"}), second
    )
    journal.append(  # a cursor entry rootctl cannot read is no cursor (as before)
        JournalEntry(command="watch", action=CURSOR_ACTION, outcome="ok", after={"until": "x"})
    )
    journal.append(JournalEntry(command="watch", action=CURSOR_ACTION, outcome="error", after={}))
    _exact(journal)
    assert last_cursor(journal).entry_id == second  # type: ignore[union-attr]


def test_random_histories_give_what_the_whole_journal_gives(tmp_path: Any) -> None:
    """Seeded random histories of plans, calls, cursors, passes and stale passes: after
    every step both reads equal the whole-journal reads (sqlite; by seed, not by time)."""
    actions = list(STEPS)
    for seed in range(4):
        rng = random.Random(seed)
        with Journal(tmp_path / f"j{seed}.sqlite3") as journal:
            stale: list[Any] = []
            for _ in range(120):
                roll = rng.random()
                account = rng.choice(ACCOUNTS)
                if roll < 0.2:
                    _plan(journal, account, *rng.sample(actions, rng.randint(1, 4)))
                elif roll < 0.6:
                    _call(journal, account, rng.choice(actions), rng.choice(["ok", "error"]))
                elif roll < 0.7:
                    _cursor(journal, rng.randint(0, 500), f"ev-{rng.randint(0, 9)}")
                elif roll < 0.82:
                    stale.append(window_state(journal))
                elif roll < 0.95 or not stale:
                    _pass(journal, "pass")
                else:  # a pass that read earlier journals its checkpoint now
                    _pass(journal, "slow", read=stale.pop(rng.randrange(len(stale))))
                _exact(journal)


# -- what is read -------------------------------------------------------------------------


@contextmanager
def _sqlite_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    statements: list[str] = []
    real = sqlite_backend.connect

    def traced(*args: Any, **kwargs: Any) -> Any:
        conn, before = real(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn, before

    monkeypatch.setattr(sqlite_backend, "connect", traced)
    yield statements
    monkeypatch.setattr(sqlite_backend, "connect", real)


def _ranges(statements: list[str]) -> list[tuple[int, int]]:
    reads = [s for s in statements if "FROM entries" in s]
    asked = [re.search(r"id > (\d+) AND id <= (\d+)", s) for s in reads]
    return [(int(m.group(1)), int(m.group(2))) for m in asked if m is not None]


def _lowest_read(statements: list[str]) -> int:
    """The lowest id any read of the entries could reach (ranges and verify_since)."""
    lows = [low + 1 for low, _ in _ranges(statements)]
    lows += [int(m.group(1)) for s in statements for m in [re.search(r"id >= (\d+) ORDER", s)] if m]
    assert not [
        s for s in statements if "FROM entries" in s and "id >" not in s and "id >=" not in s
    ]
    return min(lows)


PRIOR = 2000  # entries before the checkpoint: a read of them would show


def _long_journal(path: Any) -> tuple[int, int]:
    with Journal(path) as journal:
        _plan(journal, A, "delete-login-profile", "delete-access-key")
        _cursor(journal, 5, "ev-0")
        _filler(journal, PRIOR)
        checkpoint_id = _pass(journal, "pass-1")
        _call(journal, A, "delete-access-key")
        _filler(journal, 40)
        return checkpoint_id, checkpoint_id + 41


def test_sqlite_unfinished_steps_read_only_since_the_checkpoint(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    checkpoint_id, head = _long_journal(path)
    with Journal(path) as journal, _sqlite_reads(monkeypatch) as statements:
        left = unfinished_steps(journal, [A])
    assert [s.action for s in left[A]] == ["delete-login-profile"]
    # Ranges of 16, 32 (it holds the checkpoint) from the head down; then verify_since
    # from the newest entry read: nothing within 2,000 entries of the start is read.
    assert _ranges(statements) == [(head - 16, head), (head - 48, head - 16)]
    assert _lowest_read(statements) == head - 47 > checkpoint_id - 10 > PRIOR - 10
    with Journal(path) as journal:
        assert _unfinished(journal) == _full_unfinished(journal, ACCOUNTS)


def test_sqlite_the_cursor_read_stops_at_the_newest_cursor_entry(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.sqlite3"
    checkpoint_id, head = _long_journal(path)
    with Journal(path) as journal:
        assert last_cursor(journal) == _full_cursor(journal)
    with Journal(path) as journal, _sqlite_reads(monkeypatch) as statements:
        cursor = last_cursor(journal)
    assert cursor is not None and cursor.recent == {"ev-0"}  # from the checkpoint
    assert _ranges(statements)[0] == (head - 16, head)
    assert _lowest_read(statements) > checkpoint_id - 48
    # A cursor entry after the checkpoint: the read stops there, above the checkpoint.
    with Journal(path) as journal:
        newest = _cursor(journal, 50, "ev-9")
        _filler(journal, 5)
    with Journal(path) as journal, _sqlite_reads(monkeypatch) as statements:
        cursor = last_cursor(journal)
    assert cursor is not None and cursor.entry_id == newest
    assert _ranges(statements) == [(newest + 5 - 16, newest + 5)]
    assert _lowest_read(statements) == newest + 5 - 15


@pytest.mark.usefixtures("aws_env")
def test_dynamodb_items_returned_are_the_entries_since_the_checkpoint(sb: Any) -> None:
    journal = contract._dynamodb(sb).open()
    _plan(journal, A, "delete-login-profile", "delete-access-key")
    _cursor(journal, 5, "ev-0")
    _filler(journal, 200)
    checkpoint_id = _pass(journal, "pass-1")
    _call(journal, A, "delete-access-key")
    _filler(journal, 20)
    head = checkpoint_id + 21
    client = journal._ddb()  # type: ignore[attr-defined]
    returned: list[int] = []

    def on_answer(parsed: dict[str, Any], **_: Any) -> None:
        returned.extend(int(item["sk"]["N"]) for item in parsed.get("Items", []))

    client.meta.events.register("after-call.dynamodb.Query", on_answer)
    try:
        left = unfinished_steps(journal, [A])
        steps_read = sorted(set(returned))
        returned.clear()
        cursor = last_cursor(journal)
        cursor_read = sorted(set(returned))
        returned.clear()
        newest = _cursor(journal, 50, "ev-9")
        returned.clear()
        moved = last_cursor(journal)
        moved_read = sorted(set(returned))
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", on_answer)
    assert [s.action for s in left[A]] == ["delete-login-profile"]
    assert cursor is not None and cursor.recent == {"ev-0"}
    assert moved is not None and moved.entry_id == newest
    # 16 ids, then 32 (the checkpoint is in it): nothing below head - 48.
    assert steps_read == cursor_read == list(range(head - 47, head + 1)), steps_read
    assert moved_read == list(range(newest - 15, newest + 1))  # one Query of 16 ids
    assert step_state(journal).unfinished([A]) == left


def test_a_checkpoint_too_large_for_one_item_is_not_written_and_reads_go_further_back(
    tmp_path: Any,
) -> None:
    """Past MAX_BYTES (a DynamoDB item holds 400 KB) the pass journals no checkpoint: the
    next read goes back to the previous one, and is still exact."""
    from rootctl.enforce import checkpoint as cp

    with Journal(tmp_path / "j.sqlite3") as journal:
        _plan(journal, A, "delete-access-key")
        first = _pass(journal, "pass-1")
        big = {"account_id": B, "kept": [], "reconciled": []}
        steps = [
            {"action": a, "kind": STEPS[a][0], "target": STEPS[a][1], "before": {"x": "y" * 70_000}}
            for a in STEPS
        ]
        journal.append(
            JournalEntry(
                command="delete-credentials",
                action="plan",
                outcome="planned",
                account_id=B,
                before={**big, "steps": steps},
            )
        )
        state = window_state(journal)
        assert state.checkpoint() is None and len(str(state.steps.checkpoint())) > cp.MAX_BYTES
        _pass(journal, "pass-2", read=state)
        since = read_since_checkpoint(journal)
        assert since.checkpoint is not None and since.checkpoint.entry_id == first
        _exact(journal)
        assert len(unfinished_steps(journal, [B])[B]) == len(STEPS)
