"""The calls of `rootctl audit`, made with bare boto3: the sequential baseline and the floor.

    python benchmarks/_plain.py baseline [--limit K]     # one account after another
    python benchmarks/_plain.py floor --threads T        # T threads, one account each
    python benchmarks/_plain.py floor-shared --threads T # same, one IAM client for all

`floor` builds an IAM client per account from the session's keys, as scripts usually do.
`floor-shared` is the fastest bare boto3 we know: one IAM client for every account, each
request signed with its thread's session through botocore's public `before-sign` event
(`request_credentials` in the signing context), so no client, connection pool or class is
built per account. The floor (c) is the faster of the two.

Run with the sandbox's environment (AWS_ENDPOINT_URL and keys). Both modes make exactly
the calls rootctl makes, in the same order: GetCallerIdentity; DescribeOrganization,
ListRoots and, per parent, ListOrganizationalUnitsForParent and ListAccountsForParent
(paginated) to find the ACTIVE member accounts; then per account AssumeRoot with the
IAMAuditRootUserCredentials task policy and, with a client of that session, GetLoginProfile,
GetUser, ListAccessKeys, GetAccessKeyLastUsed per key, ListSigningCertificates and
ListMFADevices. That is the loop AWS documents for auditing a member account's root user
(AssumeRoot, then the IAM reads without a user name), run over the whole organization.

Prints one JSON object: accounts found, audited, errors, and the time of the walk and of
the per-account part (so a baseline over K accounts can be extrapolated to N).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

AUDIT_TASK_POLICY = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
LIST_KEYS = {
    "list_access_keys": "AccessKeyMetadata",
    "list_signing_certificates": "Certificates",
    "list_mfa_devices": "MFADevices",
}


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


def member_accounts(
    org: Any, mapper: Callable[[Callable[[str], Any], list[str]], Iterable[Any]]
) -> list[str]:
    """ACTIVE member accounts, by walking the OU tree level by level (as rootctl does)."""
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    level = [str(root["Id"]) for root in _pages(org, "list_roots", "Roots")]
    found: list[str] = []

    def read(parent: str) -> tuple[list[str], list[dict[str, Any]]]:
        ous = _pages(
            org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
        )
        accounts = _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent)
        return [str(ou["Id"]) for ou in ous], accounts

    while level:
        next_level: list[str] = []
        for ous, accounts in mapper(read, level):
            next_level.extend(ous)
            found.extend(
                str(a["Id"])
                for a in accounts
                if a["Id"] != management and a.get("State", a.get("Status")) == "ACTIVE"
            )
        level = next_level
    return found


class Auditor:
    """AssumeRoot into an account, then read its root user's credentials."""

    def __init__(self, threads: int, shared: bool = False) -> None:
        self.config = Config(
            retries={"mode": "standard", "max_attempts": 10},
            max_pool_connections=threads + 4,
        )
        self.session = boto3.Session()
        self.lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are
        self.sts = self.session.client("sts", config=self.config)
        self.local = threading.local()
        self.shared_iam: Any = None
        if shared:
            self.shared_iam = self.session.client("iam", config=self.config)
            self.shared_iam.meta.events.register("before-sign.iam", self._sign_as_thread)

    def _sign_as_thread(self, request: Any, **_: Any) -> None:
        request.context.setdefault("signing", {})["request_credentials"] = self.local.creds

    def iam_for(self, creds: dict[str, Any]) -> Any:
        """The IAM client acting as this session: shared (per-thread keys) or its own."""
        if self.shared_iam is not None:
            self.local.creds = Credentials(
                creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
            )
            return self.shared_iam
        return self.client(
            "iam",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def client(self, service: str, **credentials: str) -> Any:
        with self.lock:
            return self.session.client(service, config=self.config, **credentials)  # type: ignore[call-overload]

    def audit(self, account_id: str) -> bool:
        """True when every read succeeded (NoSuchEntity for the password counts as success)."""
        try:
            creds = self.sts.assume_root(
                TargetPrincipal=account_id,
                TaskPolicyArn={"arn": AUDIT_TASK_POLICY},
                DurationSeconds=900,
            )["Credentials"]
            iam = self.iam_for(creds)
            try:
                iam.get_login_profile()
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "NoSuchEntity":
                    raise
            iam.get_user()
            for key in _pages(iam, "list_access_keys", LIST_KEYS["list_access_keys"]):
                iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
            _pages(iam, "list_signing_certificates", LIST_KEYS["list_signing_certificates"])
            _pages(iam, "list_mfa_devices", LIST_KEYS["list_mfa_devices"])
        except (ClientError, BotoCoreError) as exc:
            print(f"{account_id}: {exc}", file=sys.stderr)
            return False
        return True


def run(mode: str, threads: int, limit: int | None) -> dict[str, Any]:
    threads = 1 if mode == "baseline" else threads
    auditor = Auditor(threads, shared=mode == "floor-shared")
    started = time.perf_counter()
    auditor.sts.get_caller_identity()
    org = auditor.client("organizations")
    if threads == 1:
        accounts = member_accounts(org, map)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, 8)) as walkers:
            accounts = member_accounts(org, walkers.map)
    walked = time.perf_counter()
    chosen = accounts[:limit] if limit else accounts
    if threads == 1:
        outcomes = [auditor.audit(a) for a in chosen]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(auditor.audit, chosen))
    done = time.perf_counter()
    return {
        "mode": mode,
        "threads": threads,
        "accounts": len(accounts),
        "audited": len(chosen),
        "errors": outcomes.count(False),
        "walk_s": walked - started,
        "audit_s": done - walked,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["baseline", "floor", "floor-shared"])
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--limit", type=int, help="Audit only the first K accounts found.")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.mode, args.threads, args.limit)))


if __name__ == "__main__":
    main()
