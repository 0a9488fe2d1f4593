"""Operations the sandbox answers itself (moto does not implement them or gets them wrong).

Each handler takes the parsed request and the identity that signed it and returns a wire
response. Preconditions and error codes follow AWS's API references (docs/sandbox.md).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rootctl.sandbox.model import MfaDevice, Principal, RootUser, SandboxState
from rootctl.sandbox.orgview import OrgContext, org_context
from rootctl.sandbox.wire import AwsRequest, Response, error_response, serialize_result
from rootctl.tasks import CREDENTIAL_TASKS, MAX_ROOT_SESSION_SECONDS, Task

Handler = Callable[[SandboxState, AwsRequest, Principal], Response]

ROOT_CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
ROOT_SESSIONS = "RootSessions"
FEATURES = (ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS)
# The user name the root user's listings carry where the model requires one (ListMFADevices,
# ListSigningCertificates, GetLoginProfile). AWS documents no value for the root user; the
# sandbox uses one name everywhere (docs/sandbox.md, Fidelity).
ROOT_USER_NAME = "root"
_TARGET = re.compile(r"^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$")


def ok(req: AwsRequest, result: dict[str, Any]) -> Response:
    return serialize_result(req.service, req.action, result, req.request_id)


# --- IAM organization features -------------------------------------------------------------


def _feature_precondition(
    req: AwsRequest, caller: Principal, enable: bool
) -> OrgContext | Response:
    org = org_context(caller.account_id)
    if org is None:
        return error_response(
            req,
            "OrganizationNotFoundException",
            "The request was rejected because no organization is associated with your account.",
        )
    if org.feature_set != "ALL":
        return error_response(
            req,
            "OrganizationNotInAllFeaturesModeException",
            "The request was rejected because your organization does not have All features enabled.",
        )
    if enable and caller.account_id != org.management_account_id:
        return error_response(
            req,
            "CallerIsNotManagementAccountException",
            "The request was rejected because the account making the request is not the management "
            f"account for the organization (management account: {org.management_account_id}).",
        )
    if caller.account_id not in (org.management_account_id, *org.delegated_admins()):
        return error_response(
            req,
            "AccountNotManagementOrDelegatedAdministratorException",
            "The request was rejected because the account making the request is not the management "
            "account or delegated administrator account for centralized root access.",
        )
    if not org.trusted_access():
        return error_response(
            req,
            "ServiceAccessNotEnabledException",
            "The request was rejected because trusted access is not enabled for IAM in Organizations.",
        )
    return org


def _features_result(state: SandboxState, org: OrgContext) -> dict[str, Any]:
    enabled = state.features.get(org.org_id, set())
    return {"OrganizationId": org.org_id, "EnabledFeatures": [f for f in FEATURES if f in enabled]}


def _feature_handler(feature: str | None, enable: bool | None) -> Handler:
    def handle(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
        org = _feature_precondition(req, caller, enable=bool(enable))
        if not isinstance(org, OrgContext):
            return org
        with state.lock:
            enabled = state.features.setdefault(org.org_id, set())
            if feature is not None and enable:
                enabled.add(feature)
            elif feature is not None:
                enabled.discard(feature)
            return ok(req, _features_result(state, org))

    return handle


# --- STS -------------------------------------------------------------------------------------


def assume_root(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    if caller.kind in ("root-session", "root-user"):
        return error_response(
            req, "AccessDenied", "You cannot call AssumeRoot with root user credentials.", 403
        )
    arn = req.params.get("TaskPolicyArn.arn", "")
    task = Task.from_arn(arn)
    if task is None:
        return error_response(
            req,
            "ValidationError",
            f"Value '{arn}' at 'taskPolicyArn.arn' failed to satisfy constraint: "
            "Member must be one of the AWS managed policies under arn:aws:iam::aws:policy/root-task/",
        )
    raw_duration = req.params.get("DurationSeconds", str(MAX_ROOT_SESSION_SECONDS))
    try:
        duration = int(raw_duration)
    except ValueError:
        duration = -1
    if not 0 <= duration <= MAX_ROOT_SESSION_SECONDS:
        return error_response(
            req,
            "ValidationError",
            f"1 validation error detected: Value '{raw_duration}' at 'durationSeconds' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_ROOT_SESSION_SECONDS}",
        )
    match = _TARGET.fullmatch(req.params.get("TargetPrincipal", ""))
    if match is None:
        return error_response(
            req,
            "ValidationError",
            "TargetPrincipal must be a 12-digit member account id or its root ARN "
            "(arn:aws:iam::111122223333:root).",
        )
    target = match.group(1)
    denied = _assume_root_denied(state, caller, target, task)
    if denied:
        return error_response(
            req,
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root because {denied}",
            403,
        )
    injected = state.faults.fail_assume_root.get(target)
    if injected:
        return error_response(
            req,
            injected,
            f"Injected failure for account {target}.",
            403 if "Denied" in injected else 400,
        )
    session = state.new_session(
        account_id=target, task=task, duration=duration, caller=caller, source_identity=None
    )
    _record_assume_root(state, req, caller, session.access_key_id, target, task, session.expiration)
    return ok(
        req,
        {
            "Credentials": {
                "AccessKeyId": session.access_key_id,
                "SecretAccessKey": session.secret_access_key,
                "SessionToken": session.session_token,
                "Expiration": session.expiration,
            }
        },
    )


def _assume_root_denied(
    state: SandboxState, caller: Principal, target: str, task: Task
) -> str | None:
    org = org_context(caller.account_id)
    if org is None:
        return "the caller's account is not in an organization"
    if caller.account_id not in (org.management_account_id, *org.delegated_admins()):
        return (
            "only the management account or the IAM delegated administrator "
            f"({', '.join(org.delegated_admins()) or 'none registered'}) can call AssumeRoot"
        )
    if target == org.management_account_id:
        return "the target is the organization's management account; AssumeRoot only targets member accounts"
    account = org.account(target)
    if account is None:
        return f"account {target} is not a member of organization {org.org_id}"
    if account.status != "ACTIVE":
        return f"account {target} is {account.status}"
    needed = ROOT_CREDENTIALS_MANAGEMENT if task in CREDENTIAL_TASKS else ROOT_SESSIONS
    if needed not in state.features.get(org.org_id, set()):
        return f"the {task.value} task needs the {needed} feature, which is not enabled in {org.org_id}"
    return None


def _record_assume_root(
    state: SandboxState,
    req: AwsRequest,
    caller: Principal,
    session_key: str,
    target: str,
    task: Task,
    expiration: datetime,
) -> None:
    parameters: dict[str, Any] = {
        # As sent: an ARN stays an ARN (IAM user guide, "Track privileged tasks in CloudTrail").
        "targetPrincipal": req.params.get("TargetPrincipal", target),
        "taskPolicyArn": {"arn": task.arn},
    }
    if "DurationSeconds" in req.params:
        parameters["durationSeconds"] = int(req.params["DurationSeconds"])
    event = {
        "eventVersion": "1.08",
        "userIdentity": caller_identity(caller),
        "eventTime": state.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoot",
        "awsRegion": req.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": req.headers.get("user-agent", ""),
        "requestParameters": parameters,
        # AWS's example also shows the session token here; the sandbox never records secrets.
        "responseElements": {
            "credentials": {
                "accessKeyId": session_key,
                "expiration": expiration.strftime("%b %d, %Y, %I:%M:%S %p"),
            }
        },
        "requestID": req.request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": caller.account_id,
        "eventCategory": "Management",
    }
    state.record_event(caller.account_id, event)


def caller_identity(caller: Principal) -> dict[str, Any]:
    """CloudTrail's userIdentity of an IAM user or role session (CloudTrail user guide,
    "CloudTrail userIdentity element": IAMUser has principalId and userName; AssumedRole has
    principalId <role id>:<session>, the session ARN and sessionContext.sessionIssuer)."""
    from moto.iam.models import iam_backends

    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": "",
        "arn": caller.arn,
        "accountId": caller.account_id,
        "accessKeyId": caller.access_key_id,
    }
    backend = iam_backends[caller.account_id]["global"]
    if ":user/" in caller.arn:
        name = caller.arn.rsplit("/", 1)[-1]
        user = backend.users.get(name)
        identity["principalId"] = str(user.id) if user is not None else ""
        identity["userName"] = name
        return identity
    # arn:aws:sts::<account>:assumed-role/<role>/<session>
    _, role_name, session_name = [*caller.arn.split(":", 5)[-1].split("/"), "", ""][:3]
    role = next((r for r in list(backend.roles.values()) if r.name == role_name), None)
    role_id = str(role.id) if role is not None else ""
    identity["type"] = "AssumedRole"
    identity["principalId"] = f"{role_id}:{session_name}"
    identity["sessionContext"] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id,
            "arn": str(role.arn) if role is not None else "",
            "accountId": caller.account_id,
            "userName": role_name,
        },
        "webIdFederationData": {},
        "attributes": {"mfaAuthenticated": "false"},
    }
    return identity


_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/.+$")


def assume_role_refused(state: SandboxState, req: AwsRequest, caller: Principal) -> Response | None:
    """AccessDenied for a role that does not exist in the account its ARN names, as AWS says.

    moto hands out credentials for any role ARN. AWS answers a missing role (or one whose
    trust policy does not allow the caller) with the same AccessDenied; the sandbox checks
    existence only: trust policies are not evaluated. Roles live in moto's IAM backend of
    their account (create_account makes OrganizationAccountAccessRole in every member).
    """
    from moto.iam.models import iam_backends

    arn = str(req.params.get("RoleArn", ""))
    match = _ROLE_ARN.fullmatch(arn)
    if match is None:
        return None  # moto validates the ARN's shape
    backend = iam_backends[match.group(1)]["global"]
    if any(role.arn == arn for role in list(backend.roles.values())):
        return None
    return error_response(
        req,
        "AccessDenied",
        f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {arn}",
        403,
    )


def get_caller_identity(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    return ok(req, {"UserId": caller.account_id, "Account": caller.account_id, "Arn": caller.arn})


# --- IAM root-user operations (from a root session or root user credentials) ----------------


def _no_such_entity(req: AwsRequest, message: str) -> Response:
    return error_response(req, "NoSuchEntity", message, 404)


def _root_handler(fn: Callable[[SandboxState, AwsRequest, RootUser], Response]) -> Handler:
    def handle(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
        with state.lock:
            return fn(state, req, state.root_user(caller.account_id))

    return handle


def get_user(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    profile = user.login_profile
    return ok(
        req,
        {
            "User": {
                "UserId": user.account_id,
                "Arn": user.arn,
                "CreateDate": user.created,
                "PasswordLastUsed": profile.last_used if profile else None,
            }
        },
    )


def get_login_profile(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    if user.login_profile is None:
        return _no_such_entity(req, "Login Profile for User root cannot be found.")
    return ok(req, {"LoginProfile": _login_profile(user)})


def _login_profile(user: RootUser) -> dict[str, Any]:
    assert user.login_profile is not None
    return {
        "UserName": ROOT_USER_NAME,
        "CreateDate": user.login_profile.created,
        "PasswordResetRequired": user.login_profile.password_reset_required,
    }


def create_login_profile(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    from rootctl.sandbox.model import LoginProfile

    if "Password" in req.params:
        # CreateLoginProfile models no input error; IAM's common ValidationError (HTTP 400)
        # is what AWS documents for "input fails to satisfy the constraints".
        return error_response(
            req,
            "ValidationError",
            "Password must be omitted when you make the request with an AssumeRoot session.",
        )
    if user.login_profile is not None:
        return error_response(
            req, "EntityAlreadyExists", "Login Profile for user root already exists.", 409
        )
    user.login_profile = LoginProfile(created=state.now(), password_reset_required=False)
    return ok(req, {"LoginProfile": _login_profile(user)})


def delete_login_profile(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    if user.login_profile is None:
        return _no_such_entity(req, "Login Profile for User root cannot be found.")
    user.login_profile = None
    return ok(req, {})


def list_access_keys(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    keys = [
        {"AccessKeyId": k.access_key_id, "Status": k.status, "CreateDate": k.created}
        for k in user.access_keys
    ]
    return ok(req, {"AccessKeyMetadata": keys, "IsTruncated": False})


def get_access_key_last_used(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    key_id = req.params.get("AccessKeyId", "")
    key = next((k for k in user.access_keys if k.access_key_id == key_id), None)
    if key is None:
        return _no_such_entity(req, f"The Access Key with id {key_id} cannot be found.")
    last_used: dict[str, Any] = {
        "ServiceName": key.last_used_service or "N/A",
        "Region": key.last_used_region or "N/A",
    }
    if key.last_used_date:
        last_used["LastUsedDate"] = key.last_used_date
    return ok(req, {"AccessKeyLastUsed": last_used})


def delete_access_key(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    key_id = req.params.get("AccessKeyId", "")
    key = next((k for k in user.access_keys if k.access_key_id == key_id), None)
    if key is None:
        return _no_such_entity(req, f"The Access Key with id {key_id} cannot be found.")
    user.access_keys.remove(key)
    state.identities.pop(key_id, None)
    return ok(req, {})


def list_signing_certificates(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    certs = [
        {
            "UserName": ROOT_USER_NAME,
            "CertificateId": c.certificate_id,
            "CertificateBody": c.body,
            "Status": c.status,
            "UploadDate": c.uploaded,
        }
        for c in user.signing_certificates
    ]
    return ok(req, {"Certificates": certs, "IsTruncated": False})


def delete_signing_certificate(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    cert_id = req.params.get("CertificateId", "")
    cert = next((c for c in user.signing_certificates if c.certificate_id == cert_id), None)
    if cert is None:
        return _no_such_entity(req, f"The Certificate with id {cert_id} cannot be found.")
    user.signing_certificates.remove(cert)
    return ok(req, {})


def list_mfa_devices(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    devices = [
        {"UserName": ROOT_USER_NAME, "SerialNumber": d.serial_number, "EnableDate": d.enabled}
        for d in user.mfa_devices
        if d.assigned
    ]
    return ok(req, {"MFADevices": devices, "IsTruncated": False})


def _device(user: RootUser, serial: str) -> MfaDevice | None:
    return next((d for d in user.mfa_devices if d.serial_number == serial), None)


def deactivate_mfa_device(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    serial = req.params.get("SerialNumber", "")
    device = _device(user, serial)
    if device is None or not device.assigned:
        return _no_such_entity(req, f"MFA Device with serial number {serial} does not exist.")
    if device.kind == "hardware":
        user.mfa_devices.remove(device)
    else:
        device.assigned = False  # a virtual device outlives deactivation until it is deleted
    return ok(req, {})


def delete_virtual_mfa_device(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    serial = req.params.get("SerialNumber", "")
    device = _device(user, serial)
    if device is None or device.kind != "virtual":
        return _no_such_entity(req, f"VirtualMFADevice with serial number {serial} doesn't exist.")
    if device.assigned:
        return error_response(req, "DeleteConflict", "MFA Device is still in use.", 409)
    user.mfa_devices.remove(device)
    return ok(req, {})


def get_account_summary(state: SandboxState, req: AwsRequest, user: RootUser) -> Response:
    virtual = [d for d in user.mfa_devices if d.kind == "virtual"]
    summary = {
        "AccountMFAEnabled": int(any(d.assigned for d in user.mfa_devices)),
        "AccountAccessKeysPresent": int(bool(user.access_keys)),
        "AccountSigningCertificatesPresent": int(bool(user.signing_certificates)),
        "AccountPasswordPresent": int(user.login_profile is not None),
        "MFADevices": len(virtual),
        "MFADevicesInUse": sum(1 for d in user.mfa_devices if d.assigned),
    }
    return ok(req, {"SummaryMap": summary})


ROOT_USER_HANDLERS: dict[str, Handler] = {
    name: _root_handler(fn)
    for name, fn in {
        "GetUser": get_user,
        "GetLoginProfile": get_login_profile,
        "CreateLoginProfile": create_login_profile,
        "DeleteLoginProfile": delete_login_profile,
        "ListAccessKeys": list_access_keys,
        "GetAccessKeyLastUsed": get_access_key_last_used,
        "DeleteAccessKey": delete_access_key,
        "ListSigningCertificates": list_signing_certificates,
        "DeleteSigningCertificate": delete_signing_certificate,
        "ListMFADevices": list_mfa_devices,
        "DeactivateMFADevice": deactivate_mfa_device,
        "DeleteVirtualMFADevice": delete_virtual_mfa_device,
        "GetAccountSummary": get_account_summary,
    }.items()
}

# Handlers for any caller, keyed by (service, action).
HANDLERS: dict[tuple[str, str], Handler] = {
    ("iam", "EnableOrganizationsRootCredentialsManagement"): _feature_handler(
        ROOT_CREDENTIALS_MANAGEMENT, True
    ),
    ("iam", "EnableOrganizationsRootSessions"): _feature_handler(ROOT_SESSIONS, True),
    ("iam", "DisableOrganizationsRootCredentialsManagement"): _feature_handler(
        ROOT_CREDENTIALS_MANAGEMENT, False
    ),
    ("iam", "DisableOrganizationsRootSessions"): _feature_handler(ROOT_SESSIONS, False),
    ("iam", "ListOrganizationsFeatures"): _feature_handler(None, None),
    ("sts", "AssumeRoot"): assume_root,
}

# Checks that may refuse a call before moto answers it (None: moto answers).
Guard = Callable[[SandboxState, AwsRequest, Principal], Response | None]
GUARDS: dict[tuple[str, str], Guard] = {("sts", "AssumeRole"): assume_role_refused}


# --- CloudTrail ------------------------------------------------------------------------------

_LOOKUP_FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "EventName": lambda e: e.get("eventName"),
    "EventSource": lambda e: e.get("eventSource"),
    "AccessKeyId": lambda e: e.get("userIdentity", {}).get("accessKeyId"),
    "EventId": lambda e: e.get("eventID"),
    "ReadOnly": lambda e: str(e.get("readOnly", False)).lower(),
    "Username": lambda e: _username(e),
    "ResourceName": lambda e: [r.get("ARN") for r in e.get("resources", [])],
    "ResourceType": lambda e: [r.get("type") for r in e.get("resources", [])],
}


def _matches(value: Any, wanted: Any) -> bool:
    return bool(value == wanted or (isinstance(value, list) and wanted in value))


def _username(event: dict[str, Any]) -> str:
    arn = str(event.get("userIdentity", {}).get("arn", ""))
    return "root" if arn.endswith(":root") else arn.rsplit("/", 1)[-1]


def lookup_events(state: SandboxState, req: AwsRequest, caller: Principal) -> Response:
    params = req.params
    with state.lock:
        events = [
            e for e in state.events.get(caller.account_id, []) if e.get("awsRegion") == req.region
        ]
    for attribute in params.get("LookupAttributes", []) or []:
        getter = _LOOKUP_FIELDS.get(attribute.get("AttributeKey", ""))
        if getter is None:
            return error_response(req, "InvalidLookupAttributesException", "Invalid attribute key.")
        wanted = attribute.get("AttributeValue")
        events = [e for e in events if _matches(getter(e), wanted)]
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None:
        events = [e for e in events if _epoch(e) >= float(start)]
    if end is not None:
        events = [e for e in events if _epoch(e) <= float(end)]
    events.sort(key=_epoch, reverse=True)
    offset = int(params.get("NextToken") or 0)
    limit = min(int(params.get("MaxResults") or 50), 50)
    page = events[offset : offset + limit]
    result: dict[str, Any] = {
        "Events": [
            {
                "EventId": e["eventID"],
                "EventName": e["eventName"],
                "ReadOnly": str(e.get("readOnly", False)).lower(),
                "AccessKeyId": e.get("userIdentity", {}).get("accessKeyId"),
                "EventTime": datetime.fromtimestamp(_epoch(e)),
                "EventSource": e["eventSource"],
                "Username": _username(e),
                "Resources": [
                    {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}
                    for r in e.get("resources", [])
                ],
                "CloudTrailEvent": json.dumps(e),
            }
            for e in page
        ]
    }
    if offset + limit < len(events):
        result["NextToken"] = str(offset + limit)
    return ok(req, result)


def _epoch(event: dict[str, Any]) -> float:
    from datetime import UTC

    return (
        datetime.strptime(event["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    )


HANDLERS[("cloudtrail", "LookupEvents")] = lookup_events


def _register_joins() -> None:
    """Organizations calls the sandbox answers itself (rootctl.sandbox.joins)."""
    from rootctl.sandbox import joins

    HANDLERS[("organizations", "InviteAccountToOrganization")] = joins.invite_account
    HANDLERS[("organizations", "AcceptHandshake")] = joins.accept_handshake
    HANDLERS[("organizations", "CreateAccount")] = joins.create_account


_register_joins()
