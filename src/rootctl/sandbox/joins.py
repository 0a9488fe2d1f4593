"""Accounts joining the organization: invitation, handshake, CreateAccount, and their events.

moto 5.2.5 has no InviteAccountToOrganization or AcceptHandshake, and its CreateAccount
records nothing in CloudTrail. AWS Organizations records, in the management account's event
history in us-east-1 (Organizations API reference: CreateAccount, AcceptHandshake; AWS
"What's New" 2026-05-28):

- `CreateAccountResult` when a CreateAccount finishes (`serviceEventDetails.createAccountStatus`);
- `AccountJoinedOrganization` with `joinedMethod` `Created` or `Invited` and `joinedTime`.

Both are service events (`eventType` AwsServiceEvent, no caller: `userIdentity` names the
account and `invokedBy`). Where AWS puts the joined account's id in AccountJoinedOrganization
is not shown in a public example: the sandbox writes `serviceEventDetails.accountId`, next to
the documented `joinedMethod` and `joinedTime` (docs/sandbox.md, Modelling choices).

An invited account is a standalone account until it accepts: the sandbox gives its root user
what a real standalone account has (a password, an access key, a virtual MFA device), and the
access key signs AcceptHandshake as the root user. Accounts created through CreateAccount
have a root user without credentials.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rootctl.sandbox.model import (
    LoginProfile,
    MfaDevice,
    Principal,
    RootAccessKey,
    SandboxState,
    random_id,
    random_secret,
)
from rootctl.sandbox.orgview import OrgContext, org_context
from rootctl.sandbox.wire import AwsRequest, Response, error_response, serialize_result

INVITE_DAYS = 15  # an invitation handshake expires after 15 days (Organizations user guide)
_ACCOUNT_ID = re.compile(r"\d{12}")
_SERVICE = "organizations.amazonaws.com"
_INTERNAL = "AWS Internal"


@dataclass
class Handshake:
    id: str
    org: OrgContext
    target: str
    requested: datetime
    expiration: datetime
    state: str = "OPEN"

    def to_wire(self) -> dict[str, Any]:
        arn = (
            f"arn:aws:organizations::{self.org.management_account_id}:handshake/"
            f"{self.org.org_id}/invite/{self.id}"
        )
        return {
            "Id": self.id,
            "Arn": arn,
            "Parties": [
                {"Id": self.org.org_id[2:], "Type": "ORGANIZATION"},
                {"Id": self.target, "Type": "ACCOUNT"},
            ],
            "State": self.state,
            "RequestedTimestamp": self.requested,
            "ExpirationTimestamp": self.expiration,
            "Action": "INVITE",
            "Resources": [
                {"Type": "ORGANIZATION", "Value": self.org.org_id[2:]},
                {"Type": "ACCOUNT", "Value": self.target},
            ],
        }


def _ok(req: AwsRequest, result: dict[str, Any]) -> Response:
    return serialize_result(req.service, req.action, result, req.request_id)


def _management(req: AwsRequest, caller: Principal) -> OrgContext | Response:
    org = org_context(caller.account_id)
    if org is None:
        return error_response(
            req,
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    if caller.account_id != org.management_account_id or caller.kind != "iam":
        return error_response(
            req, "AccessDeniedException", "You don't have permissions to access this resource."
        )
    return org


# --- InviteAccountToOrganization / AcceptHandshake ------------------------------------------


def invite_account(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    org = _management(req, caller)
    if not isinstance(org, OrgContext):
        return org
    target = req.params.get("Target") or {}
    account_id = str(target.get("Id", "")) if isinstance(target, dict) else ""
    if not isinstance(target, dict) or target.get("Type") != "ACCOUNT":
        return error_response(
            req,
            "InvalidInputException",
            "The sandbox invites by account id only: Target {Type: ACCOUNT, Id: 12 digits}.",
        )
    if not _ACCOUNT_ID.fullmatch(account_id):
        return error_response(
            req, "InvalidInputException", "Target.Id must be a 12-digit account id."
        )
    if account_id == caller.account_id or org_context(account_id) is not None:
        return error_response(
            req,
            "HandshakeConstraintViolationException",
            f"Account {account_id} is already in an organization (ALREADY_IN_AN_ORGANIZATION).",
        )
    with state.lock:
        if any(h.target == account_id and h.state == "OPEN" for h in state.handshakes.values()):
            return error_response(
                req,
                "DuplicateHandshakeException",
                f"An open invitation to account {account_id} already exists.",
            )
        standalone_account(state, account_id)
        now = state.now()
        handshake = Handshake(
            id=random_id("h-", 12, "abcdefghijklmnopqrstuvwxyz0123456789"),
            org=org,
            target=account_id,
            requested=now,
            expiration=now + timedelta(days=INVITE_DAYS),
        )
        state.handshakes[handshake.id] = handshake
    return _ok(req, {"Handshake": handshake.to_wire()})


def standalone_account(state: SandboxState, account_id: str) -> None:
    """Root credentials of an account made on its own: password, access key, virtual MFA."""
    user = state.root_user(account_id)
    if user.has_credentials():
        return
    now = state.now()
    user.login_profile = LoginProfile(created=now)
    user.mfa_devices.append(
        MfaDevice(
            serial_number=f"arn:aws:iam::{account_id}:mfa/root-account-mfa-device", kind="virtual"
        )
    )
    state.register_root_access_key(
        account_id,
        RootAccessKey(access_key_id=random_id("AKIA"), secret_access_key=random_secret()),
    )


def accept_handshake(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    handshake_id = str(req.params.get("HandshakeId", ""))
    with state.lock:
        handshake: Handshake | None = state.handshakes.get(handshake_id)
        if handshake is None or handshake.target != caller.account_id:
            return error_response(
                req, "HandshakeNotFoundException", f"Handshake {handshake_id[:40]} not found."
            )
        if handshake.state == "ACCEPTED":
            return error_response(
                req, "HandshakeAlreadyInStateException", "The handshake is already ACCEPTED."
            )
        if handshake.state != "OPEN" or state.now() >= handshake.expiration:
            return error_response(
                req,
                "InvalidHandshakeTransitionException",
                f"The handshake is {handshake.state if handshake.state != 'OPEN' else 'EXPIRED'}.",
            )
        _add_member(handshake.org, caller.account_id, "INVITED")
        handshake.state = "ACCEPTED"
        record_joined(state, handshake.org.management_account_id, caller.account_id, "Invited")
    return _ok(req, {"Handshake": handshake.to_wire()})


def _add_member(org: OrgContext, account_id: str, method: str) -> Any:
    """moto's account record with the given id (moto draws ids at random)."""
    from moto.organizations import utils as org_utils

    original = org_utils.make_random_account_id
    org_utils.make_random_account_id = lambda: account_id
    try:
        org.backend.create_account(
            AccountName=f"invited-{account_id}", Email=f"aws+{account_id}@example.com"
        )
    finally:
        org_utils.make_random_account_id = original
    account = org.backend.accounts[-1]
    account.joined_method = method
    return account


# --- CreateAccount ----------------------------------------------------------------------------


def create_account(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    """moto's CreateAccount, plus the events AWS records and a root user without credentials."""
    org = _management(req, caller)
    if not isinstance(org, OrgContext):
        return org
    params = {
        k: v for k, v in req.params.items() if k in ("AccountName", "Email", "RoleName", "Tags")
    }
    with state.lock:
        status = dict(org.backend.create_account(**params)["CreateAccountStatus"])
        account_id = str(status["AccountId"])
        state.root_user(account_id)  # exists, with nothing: AWS's created accounts
        record_created(state, org.management_account_id, status)
        record_joined(state, org.management_account_id, account_id, "Created")
    for key in ("RequestedTimestamp", "CompletedTimestamp"):
        status[key] = datetime.fromtimestamp(float(status[key]), tz=state.now().tzinfo)
    return _ok(req, {"CreateAccountStatus": status})


# --- events -------------------------------------------------------------------------------------


def _service_event(state: SandboxState, management: str, name: str) -> dict[str, Any]:
    """An Organizations service event in the management account's us-east-1 history."""
    return {
        "eventVersion": "1.11",
        "userIdentity": {"accountId": management, "invokedBy": _INTERNAL},
        "eventTime": state.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": _SERVICE,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": _INTERNAL,
        "userAgent": _INTERNAL,
        "requestParameters": None,
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": management,
        "eventCategory": "Management",
    }


def record_joined(state: SandboxState, management: str, account_id: str, method: str) -> None:
    event = _service_event(state, management, "AccountJoinedOrganization")
    event["serviceEventDetails"] = {
        "accountId": account_id,
        "joinedMethod": method,
        "joinedTime": event["eventTime"],
    }
    state.record_event(management, event)


def record_created(state: SandboxState, management: str, status: dict[str, Any]) -> None:
    event = _service_event(state, management, "CreateAccountResult")
    when = state.now().strftime("%b %d, %Y %I:%M:%S %p")
    event["serviceEventDetails"] = {
        "createAccountStatus": {
            "id": status["Id"],
            "state": status["State"],
            "accountName": "****",
            "accountId": status["AccountId"],
            "requestedTimestamp": when,
            "completedTimestamp": when,
        }
    }
    state.record_event(management, event)


def record_root_sign_in(
    state: SandboxState, account_id: str, *, mfa: bool = False, success: bool = True
) -> dict[str, Any]:
    """A root user's console sign-in as CloudTrail records it (a real root sign-in: no
    `sessionContext.assumedRoot`), in the account's us-east-1 history, where CloudTrail files
    sign-in events of global endpoints. The sandbox has no console: tests and the control
    route `root-sign-in` call this to give the root-usage watch something to find."""
    event = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "Root",
            "principalId": account_id,
            "arn": f"arn:aws:iam::{account_id}:root",
            "accountId": account_id,
        },
        "eventTime": state.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "Mozilla/5.0 (rootctl sandbox)",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa else "No",
        },
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    state.record_event(account_id, event)
    return event


def root_access_key(state: SandboxState, account_id: str) -> tuple[str, str] | None:
    """(key id, secret) of the first root access key, for tests that sign as the root user."""
    with state.lock:
        user = state.root_users.get(account_id)
        if user is None or not user.access_keys:
            return None
        key = user.access_keys[0]
        return key.access_key_id, key.secret_access_key
