"""The journal's head kept outside the journal: an SSM parameter or an S3 object.

Whoever can write the journal can recompute the whole chain; an anchor kept elsewhere (a
parameter or an object the journal's writers can only put, ideally versioned) names an
entry the chain must still hold. `journal verify --anchor REF` reads it and verifies with
`expect_head` (verify.py): a rewrite of the whole table no longer holds that entry.

The anchor is `{"entries": N, "head": HASH}`, exactly what `rootctl journal head` prints.
References: `ssm://NAME` (`ssm:///rootctl/journal-head` for a path-style name) and
`s3://BUCKET/KEY`.

Trusted the other way round, an anchor also makes verification cheap: `verify_from_anchor`
checks that entry N still holds HASH and that every entry after it chains from it
(`Journal.verify_since`), reading only those entries; `advance_anchor` then stores the new
head. The Lambda does both around each run (before acting, after), so each invocation
verifies the entries since the last one instead of the whole journal (docs/journal.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rootctl.errors import RootctlError, UsageError

if TYPE_CHECKING:
    from rootctl.aws import SessionFactory
    from rootctl.journal.backend import JournalBackend
    from rootctl.journal.model import VerifyResult

_HEX = re.compile(r"[0-9a-f]{64}")
_SSM_NAME = re.compile(r"/?[A-Za-z0-9_.\-/]{1,1011}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
MAX_ANCHOR_BYTES = 4096


@dataclass(frozen=True)
class AnchorRef:
    """Where an anchor lives: `kind` is "ssm" (name) or "s3" (bucket, key)."""

    kind: str
    name: str
    key: str = ""

    def __str__(self) -> str:
        return f"ssm://{self.name}" if self.kind == "ssm" else f"s3://{self.name}/{self.key}"


class AnchorMissing(UsageError):
    """Nothing is stored at the anchor's reference yet."""


@dataclass(frozen=True)
class Anchor:
    """Entry `entries` of the chain has hash `head` (entries 0: before the first entry)."""

    entries: int
    head: str

    def to_json(self) -> str:
        return json.dumps({"entries": self.entries, "head": self.head})


def parse_anchor_ref(text: str, what: str = "anchor") -> AnchorRef:
    """`ssm://NAME` or `s3://BUCKET/KEY`, else one line (exit 2) before any AWS call.

    The Lambda's config (ROOTCTL_CONFIG) is named the same way (`what` says which).
    """
    if text.startswith("ssm://"):
        name = text[len("ssm://") :]
        if _SSM_NAME.fullmatch(name) and "//" not in name:
            return AnchorRef("ssm", name)
        raise UsageError(f"{what} {text[:80]!r}: not an SSM parameter name")
    if text.startswith("s3://"):
        bucket, _, key = text[len("s3://") :].partition("/")
        if _BUCKET.fullmatch(bucket) and key and len(key) <= 1024:
            return AnchorRef("s3", bucket, key)
        raise UsageError(f"{what} {text[:80]!r}: expected s3://BUCKET/KEY")
    raise UsageError(f"{what} {text[:80]!r}: expected ssm://NAME or s3://BUCKET/KEY")


def parse_anchor(text: str | bytes, where: AnchorRef) -> Anchor:
    """The anchor document; anything else is one line naming where it was read."""
    if len(text) > MAX_ANCHOR_BYTES:
        raise UsageError(f"anchor {where}: over {MAX_ANCHOR_BYTES} bytes, not an anchor")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        data = None
    entries = data.get("entries") if isinstance(data, dict) else None
    head = data.get("head") if isinstance(data, dict) else None
    if (
        not isinstance(entries, int)
        or isinstance(entries, bool)
        or entries < 0
        or not isinstance(head, str)
        or not _HEX.fullmatch(head)
    ):
        raise UsageError(
            f'anchor {where}: expected {{"entries": N, "head": HASH}} as `rootctl journal head` prints'
        )
    return Anchor(entries, head)


def read_anchor(ref: AnchorRef, factory: SessionFactory) -> Anchor:
    """The anchor stored at `ref`; a missing one is bad input (exit 2)."""
    return parse_anchor(read_text(ref, factory, MAX_ANCHOR_BYTES + 1), ref)


def read_text(
    ref: AnchorRef, factory: SessionFactory, limit: int, what: str = "anchor"
) -> str | bytes:
    """The parameter's value (decrypted) or at most `limit` bytes of the object."""
    if ref.kind == "ssm":
        ssm = factory.client("ssm")
        found = _aws(ref, lambda: ssm.get_parameter(Name=ref.name, WithDecryption=True), what)
        return str(found["Parameter"]["Value"])
    s3 = factory.client("s3")
    found = _aws(ref, lambda: s3.get_object(Bucket=ref.name, Key=ref.key)["Body"].read(limit), what)
    return bytes(found)


def write_anchor(ref: AnchorRef, anchor: Anchor, factory: SessionFactory) -> None:
    """Put the anchor at `ref` (an SSM String parameter, or an S3 object)."""
    body = anchor.to_json()
    if ref.kind == "ssm":
        _aws(
            ref,
            lambda: factory.client("ssm").put_parameter(
                Name=ref.name, Value=body, Type="String", Overwrite=True
            ),
        )
    else:
        _aws(
            ref,
            lambda: factory.client("s3").put_object(
                Bucket=ref.name,
                Key=ref.key,
                Body=body.encode("utf-8"),
                ContentType="application/json",
            ),
        )


def _aws(ref: AnchorRef, call: Any, what: str = "anchor") -> Any:
    from botocore.exceptions import ClientError

    from rootctl.aws.errors import classify

    try:
        return call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("ParameterNotFound", "NoSuchKey", "NoSuchBucket", "404"):
            yet = " (nothing was anchored there yet)" if what == "anchor" else ""
            raise AnchorMissing(f"{what} {ref} does not exist{yet}") from None
        raise UsageError(f"{what} {ref}: {classify(exc)}") from None
    except RootctlError:
        raise
    except Exception as exc:
        error = classify(exc)
        if error is None:
            raise
        raise UsageError(f"{what} {ref}: {error}") from None


@dataclass(frozen=True)
class AnchoredVerify:
    """What `verify_from_anchor` did: the result, and the anchor it started from (None:
    there was none yet, so the whole chain was verified)."""

    result: VerifyResult
    anchor: Anchor | None

    @property
    def mode(self) -> str:
        return "full" if self.anchor is None else "since-anchor"

    @property
    def checked(self) -> int:
        """Entries verified: those after the anchor (all of them on a full verify)."""
        return self.result.entries - (self.anchor.entries if self.anchor else 0)


def verify_from_anchor(
    journal: JournalBackend, ref: AnchorRef, factory: SessionFactory, *, missing_ok: bool
) -> AnchoredVerify:
    """Verify the journal from the anchor stored at `ref` (O(entries since it)).

    A missing anchor is bad input unless `missing_ok` (the first run of a deployment):
    then the whole chain is verified.
    """
    try:
        anchor: Anchor | None = read_anchor(ref, factory)
    except AnchorMissing:
        if not missing_ok:
            raise
        anchor = None
    result = journal.verify() if anchor is None else journal.verify_since(anchor)
    return AnchoredVerify(result, anchor)


def advance_anchor(
    journal: JournalBackend, ref: AnchorRef, since: Anchor | None, factory: SessionFactory
) -> tuple[VerifyResult, bool]:
    """Verify from `since` (None: the whole chain) and store the new head at `ref`.

    Not stored (False) when the anchor there is already at or past this head: runs that
    overlap (shards) may finish in any order, and an anchor only moves forward. Two
    writers racing between that read and the put can still leave the earlier head; an
    earlier head is still a true anchor, only a longer verify for the next run.
    """
    result = journal.verify() if since is None else journal.verify_since(since)
    if not result.ok:
        return result, False
    try:
        stored: Anchor | None = read_anchor(ref, factory)
    except AnchorMissing:
        stored = None
    if stored is not None and stored.entries >= result.entries:
        return result, False
    write_anchor(ref, Anchor(result.entries, result.head_hash), factory)
    return result, True
