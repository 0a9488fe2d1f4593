"""The journal in a DynamoDB table (`--journal dynamodb://TABLE`): same chain, same verify.

The table (deploy/ creates it) has the key `pk` (S, hash) + `sk` (N, range) and holds:

- entries: `{pk: "entry", sk: N, time, prev_hash, hash, <entry fields>}`; JSON fields as
  their canonical JSON text, None as an absent attribute, exactly the sqlite columns;
- the head: `{pk: "head", sk: 0, count, hash, time}`, the last entry appended;
- the schema: `{pk: "meta", sk: 0, schema_version}`, written with the first entry.

Two writers never fork the chain: an entry is put with `attribute_not_exists(pk)`, so of
two writers that read the same head only one gets entry N; the other reads entry N, moves
the head to it and chains its entry as N+1. The head moves with a condition on the count
it moves from, so it only ever goes forward, one entry at a time. A writer stopped between
its two writes leaves the head one entry behind a complete, linked entry: the next writer
(or a verified read by a writer) moves the head forward first, as the sqlite transaction
would have committed both. Within one process, appends queue on a lock (the Lambda's
fan-out threads would otherwise only race each other).
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from rootctl.errors import RootctlError, UsageError
from rootctl.journal.backend import TablePath, check_table_name
from rootctl.journal.model import (
    ENTRY_FIELDS,
    GENESIS_HASH,
    JSON_FIELDS,
    JournalEntry,
    StoredEntry,
    VerifyResult,
    canonical_json,
    entry_hash,
)
from rootctl.journal.rows import MAX_ID, BadRow, check_id, decode
from rootctl.journal.schema import COLUMNS, SCHEMA_VERSION
from rootctl.journal.store import (
    Journal,
    JournalError,
    UnverifiedJournal,
    normalise_since,
    now_stamp,
    page_ranges,
    prepare_values,
)
from rootctl.journal.verify import Head, Row, head_of, verify_rows, verify_since

if TYPE_CHECKING:
    from rootctl.aws import SessionFactory
    from rootctl.journal.anchor import Anchor

ENTRY, HEAD, META = "entry", "head", "meta"
KEY_SCHEMA = {("pk", "HASH", "S"), ("sk", "RANGE", "N")}
# CreateTable's arguments for a journal table (deploy/ declares the same; tests use it).
TABLE_SPEC: dict[str, Any] = {
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
}
# Attempts of one append under contention: each failed attempt means another writer's
# entry went in, so this bounds the writers racing one append, not time.
MAX_ATTEMPTS = 64
_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoJournal(Journal):
    """The journal in one DynamoDB table; the same contract as the sqlite `Journal`.

    `readonly=True` never writes (the CLI's journal commands); a writer also moves a head
    left one entry behind by a stopped writer before it verifies or appends.
    """

    def __init__(
        self, table: str, *, factory: SessionFactory | None = None, readonly: bool = False
    ) -> None:
        from rootctl.aws import SessionFactory

        self.table = check_table_name(table)
        self.path = TablePath.of(self.table)
        self._readonly = readonly
        self._lock = threading.RLock()
        self._factory = factory or SessionFactory()
        self._client: Any = None
        # The head as this writer left it after its last append (count, hash, time): the
        # next append puts entry count+1 without reading the head first (2 calls, not 3).
        # A stale value costs nothing but a retry: the put's condition fails on the taken
        # id, the entry found there is checked to link, and the head is read again.
        self._last_head: tuple[int, str, str] | None = None
        self._check_table()

    @property
    def location(self) -> str:
        return f"dynamodb://{self.table}"

    def close(self) -> None:
        """Nothing to close: the client's connections belong to the session factory."""

    # -- AWS plumbing ---------------------------------------------------------------------

    def _ddb(self) -> Any:
        if self._client is None:
            self._client = self._factory.client("dynamodb")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One DynamoDB call; AWS errors are one line naming the table (conditions excepted)."""
        from botocore.exceptions import ClientError

        from rootctl.aws.errors import classify

        try:
            return getattr(self._ddb(), operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == _CONDITION_FAILED:
                raise
            if code == "ResourceNotFoundException":
                raise UsageError(self._missing()) from None
            raise JournalError(f"journal {self.location}: {classify(exc)}") from None
        except RootctlError:
            raise
        except Exception as exc:
            error = classify(exc)
            if error is None:
                raise
            raise JournalError(f"journal {self.location}: {error}") from None

    def _missing(self) -> str:
        return (
            f"journal {self.location}: the table does not exist in {self._factory.region} "
            "(deploy/ creates it; see docs/deploy.md)"
        )

    def _check_table(self) -> None:
        """Refuse a missing table, or one whose key is not the journal's, before any write."""
        table = self._call("describe_table")["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        keys = {
            (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"]))
            for k in table["KeySchema"]
        }
        if keys != KEY_SCHEMA:
            shown = ", ".join(f"{n} {k} {t}" for n, k, t in sorted(keys, key=str))
            raise UsageError(
                f"journal {self.location}: the table's key is ({shown}), not (pk HASH S, "
                "sk RANGE N): not a rootctl journal"
            )
        meta = self._get(META, 0)
        if meta is None:
            if self._get(HEAD, 0) is not None or self._page(ENTRY, 1, 1):
                raise UsageError(
                    f"journal {self.location} has entries but no schema version: "
                    "it was edited, or is not a rootctl journal"
                )
            return
        version = meta.get("schema_version")
        if version != SCHEMA_VERSION:
            raise UsageError(
                f"journal {self.location} has schema version {str(version)[:20]!r}; this "
                f"rootctl reads version {SCHEMA_VERSION} (upgrade rootctl)"
            )

    def _get(self, pk: str, sk: int) -> dict[str, Any] | None:
        key = {"pk": {"S": pk}, "sk": {"N": str(sk)}}
        item = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        return None if item is None else {k: _value(v) for k, v in item.items()}

    def _page(self, pk: str, first: int, limit: int | None = None) -> builtins.list[dict[str, Any]]:
        return builtins.list(self._items(pk, first, limit))

    def _items(self, pk: str, first: int, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Items of partition `pk` with sk >= first, in sk order (consistent reads)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk >= :first",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":first": {"N": str(first)}},
            "ConsistentRead": True,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        while True:
            page = self._call("query", **kwargs)
            for item in page.get("Items", []):
                yield {k: _value(v) for k, v in item.items()}
            if "LastEvaluatedKey" not in page or limit is not None:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- writing --------------------------------------------------------------------------

    def append(self, entry: JournalEntry) -> StoredEntry:
        """Scrub, chain and put one entry; return it as stored (with id and hash)."""
        if not entry.command or not entry.action or not entry.outcome:
            raise ValueError("a journal entry needs a command, an action and an outcome")
        if self._readonly:
            raise JournalError(f"journal {self.location} was opened read-only")
        values = prepare_values(entry)
        with self._lock:
            for _ in range(MAX_ATTEMPTS):
                stored = self._try_append(values)
                if stored is not None:
                    return stored
        raise JournalError(
            f"journal {self.location}: could not append after {MAX_ATTEMPTS} attempts "
            "(that many other writers appended meanwhile)"
        )

    def _try_append(self, values: dict[str, Any]) -> StoredEntry | None:
        """Put the entry after the head; None when another writer took that place."""
        count, prev_hash, prev_time = self._last_head or self._head_state()
        self._last_head = None
        entry_id = count + 1
        stamp = max(now_stamp(), prev_time)  # never back in time: verify reads that as moved
        digest = entry_hash(prev_hash, entry_id, stamp, values)
        if entry_id == 1:
            self._put_meta()
        item = _entry_item(entry_id, stamp, prev_hash, digest, values)
        if not self._put_new(item):
            self._roll_forward(count, prev_hash)
            return None
        # Moved by us, or (condition failed) already rolled forward to it by another writer.
        self._move_head(count, entry_id, digest, stamp)
        self._last_head = (entry_id, digest, stamp)
        return StoredEntry(id=entry_id, time=stamp, prev_hash=prev_hash, hash=digest, **values)

    def _head_state(self) -> tuple[int, str, str]:
        head = self._get(HEAD, 0)
        if head is None:
            return 0, GENESIS_HASH, ""
        parsed = _head(head)
        if isinstance(parsed, BadRow):
            raise UnverifiedJournal(
                f"journal {self.location}: its head record was edited ({parsed.problem}); "
                "nothing was appended (see `rootctl journal verify`)"
            )
        return parsed.count, parsed.hash, str(head.get("time") or "")

    def _put_new(self, item: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError:  # only the condition reaches here (see _call)
            return False
        return True

    def _put_meta(self) -> None:
        item = {"pk": {"S": META}, "sk": {"N": "0"}, "schema_version": {"S": SCHEMA_VERSION}}
        self._put_new(item)  # already there: another writer's first entry won

    def _move_head(self, from_count: int, to_count: int, digest: str, stamp: str) -> bool:
        """Head to entry `to_count`, if it is still at `from_count` (else someone did it)."""
        from botocore.exceptions import ClientError

        condition = "attribute_not_exists(pk)" if from_count == 0 else "#c = :from"
        values: dict[str, Any] = {
            ":to": {"N": str(to_count)},
            ":h": {"S": digest},
            ":t": {"S": stamp},
        }
        if from_count:
            values[":from"] = {"N": str(from_count)}
        try:
            self._call(
                "update_item",
                Key={"pk": {"S": HEAD}, "sk": {"N": "0"}},
                UpdateExpression="SET #c = :to, #h = :h, #t = :t",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#c": "count", "#h": "hash", "#t": "time"},
                ExpressionAttributeValues=values,
            )
        except ClientError:
            return False
        return True

    def _roll_forward(self, count: int, prev_hash: str) -> None:
        """Entry count+1 exists: move the head to it, if it links to the head."""
        item = self._get(ENTRY, count + 1)
        if item is None:
            return  # put failed on a condition, yet no item: re-read and try again
        stored = _decoded(item)
        if isinstance(stored, BadRow) or stored.prev_hash != prev_hash:
            raise UnverifiedJournal(
                f"journal {self.location}: entry {count + 1} does not link to the head; "
                "nothing was appended (see `rootctl journal verify`)"
            )
        self._move_head(count, count + 1, stored.hash, stored.time)

    def _settle(self) -> None:
        """Move a head left one behind by a stopped writer (writers only)."""
        if self._readonly:
            return
        with self._lock:
            count, prev_hash, _ = self._head_state()
            self._roll_forward(count, prev_hash)

    # -- reading --------------------------------------------------------------------------

    def get(self, entry_id: int) -> StoredEntry:
        check_id(entry_id)
        item = self._get(ENTRY, entry_id)
        if item is None:
            raise UsageError(f"journal entry {entry_id} does not exist")
        return self._entry_of(item)

    def list(
        self,
        *,
        account_id: str | None = None,
        command: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        run_id: str | None = None,
        since: str | datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[StoredEntry]:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_ID
        ):
            raise UsageError(f"limit must be 0 to {MAX_ID}, not {limit}")
        keep = _matcher(account_id, command, action, outcome, run_id, since)
        found = [e for e in (self._entry_of(i) for i in self._items(ENTRY, 1)) if keep(e)]
        return found if limit is None else found[len(found) - limit :] if limit else []

    def verified_entries(
        self,
        *,
        account_id: str | None = None,
        command: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        run_id: str | None = None,
    ) -> builtins.list[StoredEntry]:
        """Like `list`, from the same read that verified the whole chain (see Journal)."""
        items = self._verified_items()
        keep = _matcher(account_id, command, action, outcome, run_id, None)
        return [e for e in (self._entry_of(i) for i in items) if keep(e)]

    def verified_entry(self, entry_id: int) -> StoredEntry:
        check_id(entry_id)
        if self._get(ENTRY, entry_id) is None:
            raise UsageError(f"journal entry {entry_id} does not exist")
        for item in self._verified_items():
            if item.get("sk") == entry_id:
                return self._entry_of(item)
        raise UsageError(f"journal entry {entry_id} does not exist")

    def _verified_items(self) -> builtins.list[dict[str, Any]]:
        self._settle()
        items, result = self._verify_items(None)
        if not result.ok:
            raise UnverifiedJournal(
                f"journal {self.location} does not verify ({result.problem}): rootctl acts "
                "only on a verified journal, nothing was done (see `rootctl journal verify`)"
            )
        return items

    def _entry_of(self, item: dict[str, Any]) -> StoredEntry:
        decoded = _decoded(item)
        if isinstance(decoded, BadRow):
            raise JournalError(
                f"journal {self.location}: {decoded.describe()}; "
                "`rootctl journal verify` checks the whole chain"
            )
        return decoded

    def entries_after(
        self, after_id: int, *, until_id: int | None = None, newest_first: bool = False
    ) -> Iterator[StoredEntry]:
        """The file journal's `entries_after`: one Query (`sk BETWEEN lo AND hi`, forward or
        backward) per id range of `store.page_ranges` within (after_id, until_id] (None:
        the head's count, read first); a caller that stops early asks for no further range."""
        if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
            raise UsageError(f"journal entry ids are 1 to {MAX_ID}, not {after_id}")
        if until_id is None:
            head = self._get(HEAD, 0)
            until_id = max(_count_of(head), 0) if head is not None else 0
        return self._range(after_id, until_id, newest_first)

    def _range(self, after_id: int, until_id: int, newest_first: bool) -> Iterator[StoredEntry]:
        for low, high in page_ranges(after_id, until_id, newest_first):
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": {"S": ENTRY},
                    ":lo": {"N": str(low + 1)},
                    ":hi": {"N": str(high)},
                },
                "ConsistentRead": True,
                "ScanIndexForward": not newest_first,
            }
            while True:
                page = self._call("query", **kwargs)
                for item in page.get("Items", []):
                    yield self._entry_of({k: _value(v) for k, v in item.items()})
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def export_jsonl(self, out: IO[str]) -> int:
        count = 0
        for item in self._items(ENTRY, 1):
            out.write(json.dumps(self._entry_of(item).to_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count

    # -- verifying ------------------------------------------------------------------------

    def verify(self, expect_head: str | None = None) -> VerifyResult:
        """The same checks as the file journal (verify.verify_rows), on the table's items.

        The head is read before the entries: an append that lands between the two reads
        shows as one entry past the head, so the head is read once more before that is
        reported (a writer stopped between its two writes is still reported).
        """
        return self._verify_items(expect_head)[1]

    def verify_since(self, anchor: Anchor) -> VerifyResult:
        """Verify from a trusted anchor (verify.verify_since): one Query from the anchor's
        entry on (`sk >= N`), so the read costs the entries since the anchor."""
        self._settle()  # a writer first moves a head a stopped writer left behind
        head, rows = self._chain_from(max(anchor.entries, 1))

        def later(from_id: int) -> builtins.list[Row | BadRow]:
            return [r for r in rows if isinstance(r, BadRow) or r.id >= from_id]

        return verify_since(rows, head, later, anchor.entries, anchor.head)

    def _chain_from(self, first: int) -> tuple[Head | BadRow | None, builtins.list[Row | BadRow]]:
        """The head and the entries from `first` on, as `_verify_items` reads them."""
        head_item, items = self._head_and_items(first)
        head = None if head_item is None else _head(head_item)
        return head, [_row(item) for item in items]

    def _head_and_items(
        self, first: int
    ) -> tuple[dict[str, Any] | None, builtins.list[dict[str, Any]]]:
        head_item = self._get(HEAD, 0)
        items = self._page(ENTRY, first)
        if head_item is not None and first + len(items) - 1 == _count_of(head_item) + 1:
            head_item = self._get(HEAD, 0)
        return head_item, items

    def _verify_items(
        self, expect_head: str | None
    ) -> tuple[builtins.list[dict[str, Any]], VerifyResult]:
        head_item, items = self._head_and_items(1)
        head = None if head_item is None else _head(head_item)
        rows = [_row(item) for item in items]

        def later(from_id: int) -> builtins.list[Row | BadRow]:
            return [r for r in rows if isinstance(r, BadRow) or r.id >= from_id]

        return items, verify_rows(rows, head, later, expect_head)


def _value(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as Python: S as str, N as int or Decimal, else as stored."""
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        number = Decimal(attribute["N"])
        return int(number) if number == number.to_integral_value() else number
    if "NULL" in attribute:
        return None
    return attribute  # another type than rootctl writes: decode reports it as an edit


def _entry_item(
    entry_id: int, stamp: str, prev_hash: str, digest: str, values: dict[str, Any]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": ENTRY},
        "sk": {"N": str(entry_id)},
        "time": {"S": stamp},
        "prev_hash": {"S": prev_hash},
        "hash": {"S": digest},
    }
    for name in ENTRY_FIELDS:
        value = values[name]
        if value is None:
            continue
        item[name] = {"S": canonical_json(value) if name in JSON_FIELDS else str(value)}
    return item


def _columns(item: dict[str, Any]) -> dict[str, Any]:
    """The item as the sqlite row it mirrors: every column, absent ones None."""
    row = {name: item.get(name) for name in COLUMNS}
    row["id"] = item.get("sk")
    return row


def _decoded(item: dict[str, Any]) -> StoredEntry | BadRow:
    return decode(_columns(item))


def _row(item: dict[str, Any]) -> Row | BadRow:
    decoded = _decoded(item)
    if isinstance(decoded, BadRow):
        return decoded
    values = {name: getattr(decoded, name) for name in ENTRY_FIELDS}
    return Row(decoded.id, decoded.time, decoded.prev_hash, decoded.hash, values)


def _count_of(head: dict[str, Any]) -> int:
    count = head.get("count")
    return count if isinstance(count, int) else -1


def _head(item: dict[str, Any]) -> Head | BadRow:
    return head_of(item.get("count"), item.get("hash"))


def _matcher(
    account_id: str | None,
    command: str | None,
    action: str | None,
    outcome: str | None,
    run_id: str | None,
    since: str | datetime | None,
) -> Callable[[StoredEntry], bool]:
    """The sqlite backend's WHERE clause, as a predicate over decoded entries."""
    wanted = {
        "account_id": account_id,
        "command": command,
        "action": action,
        "outcome": outcome,
        "run_id": run_id,
    }
    fixed = {k: v for k, v in wanted.items() if v is not None}
    after = normalise_since(since) if since is not None else None

    def keep(entry: StoredEntry) -> bool:
        if any(getattr(entry, k) != v for k, v in fixed.items()):
            return False
        return after is None or entry.time >= after

    return keep
