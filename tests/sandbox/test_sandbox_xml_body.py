"""The sandbox's own answers are byte-identical to moto's serialiser with xmltodict
(rootctl.sandbox.xmlbody and wire.serialize_result's cached serialiser): every operation the
sandbox answers itself, driven over HTTP and compared answer by answer with the serialisation
the sandbox used before, and the XML writer against xmltodict on generated hostile values."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
import xmltodict
from botocore.exceptions import ClientError

from rootctl.sandbox import Sandbox, handlers, joins
from rootctl.sandbox.wire import Response, serialize_result
from rootctl.sandbox.xmlbody import unparse
from rootctl.tasks import Task

from support import (
    DATA_PROD,
    PAYMENTS_DEV,
    PAYMENTS_PROD,
    client,
    enabled_fixture,
    invite_and_accept,
    root_client,
)


def moto_serialization(
    service: str, action: str, result: dict[str, Any], request_id: str
) -> Response:
    """What wire.serialize_result was before it cached and wrote XML itself (verbatim)."""
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    operation = model.operation_model(action)
    serializer = get_serializer_class(service, model.protocol)(
        operation_model=operation, value_picker=XFormedAttributePicker()
    )
    out = serializer.serialize(result)
    body = out["body"]
    if isinstance(body, str):
        body = body.replace(
            "<RequestId>request-id</RequestId>", f"<RequestId>{request_id}</RequestId>"
        )
        body_bytes = body.encode("utf-8")
    else:
        body_bytes = bytes(body)
    headers = {str(k): str(v) for k, v in out["headers"].items()}
    headers["x-amzn-RequestId"] = request_id
    return int(out["status_code"]), headers, body_bytes


# Every operation the sandbox answers itself with a serialised result.
OWN_OPERATIONS = {
    ("sts", "AssumeRoot"),
    ("sts", "GetCallerIdentity"),
    *(("iam", name) for name in handlers.ROOT_USER_HANDLERS),
    *(key for key in handlers.HANDLERS if key[0] == "iam"),
    ("cloudtrail", "LookupEvents"),
    ("organizations", "InviteAccountToOrganization"),
    ("organizations", "AcceptHandshake"),
    ("organizations", "CreateAccount"),
}


def test_every_own_answer_is_what_moto_s_serialiser_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: dict[tuple[str, str], int] = {}
    differences: list[tuple[str, str, Response, Response]] = []

    def both(service: str, action: str, result: dict[str, Any], request_id: str) -> Response:
        ours = serialize_result(service, action, result, request_id)
        theirs = moto_serialization(service, action, result, request_id)
        compared[(service, action)] = compared.get((service, action), 0) + 1
        if ours != theirs:
            differences.append((service, action, ours, theirs))
        return ours

    monkeypatch.setattr(handlers, "serialize_result", both)
    monkeypatch.setattr(joins, "serialize_result", both)
    with Sandbox.start(enabled_fixture()) as sb:
        _drive_every_own_operation(sb)
    assert differences == []
    assert set(compared) == OWN_OPERATIONS, set(compared) ^ OWN_OPERATIONS


def _drive_every_own_operation(sb: Sandbox) -> None:
    iam = client(sb, "iam")
    for name in ("RootCredentialsManagement", "RootSessions"):
        getattr(iam, f"disable_organizations_{_snake(name)}")()
        getattr(iam, f"enable_organizations_{_snake(name)}")()
    iam.list_organizations_features()
    audit = root_client(sb, PAYMENTS_PROD, Task.AUDIT, "iam")
    audit.get_user()
    audit.get_login_profile()
    audit.list_access_keys()
    key = audit.list_access_keys()["AccessKeyMetadata"][0]["AccessKeyId"]
    audit.get_access_key_last_used(AccessKeyId=key)
    audit.list_mfa_devices()
    audit.list_signing_certificates()
    audit.get_account_summary()
    root_client(sb, PAYMENTS_PROD, Task.AUDIT, "sts").get_caller_identity()
    delete = root_client(sb, PAYMENTS_PROD, Task.DELETE, "iam")
    delete.delete_login_profile()
    delete.delete_access_key(AccessKeyId=key)
    serial = delete.list_mfa_devices()["MFADevices"][0]["SerialNumber"]
    delete.deactivate_mfa_device(SerialNumber=serial)
    delete.delete_virtual_mfa_device(SerialNumber=serial)
    dev = root_client(sb, PAYMENTS_DEV, Task.DELETE, "iam")
    cert = dev.list_signing_certificates()["Certificates"][0]["CertificateId"]
    dev.delete_signing_certificate(CertificateId=cert)
    data = root_client(sb, DATA_PROD, Task.AUDIT, "iam")
    data.list_mfa_devices()  # a hardware device: another serial shape
    data.get_user()  # no password: PasswordLastUsed left out
    with pytest.raises(ClientError):
        data.get_login_profile()  # NoSuchEntity: an error, not serialised
    root_client(sb, PAYMENTS_PROD, Task.CREATE_PASSWORD, "iam").create_login_profile()
    client(sb, "cloudtrail", sb.credentials_for(PAYMENTS_PROD)).lookup_events()
    invite_and_accept(sb, "888800000001")
    client(sb, "organizations").create_account(AccountName="made", Email="made@example.com")


def _snake(name: str) -> str:
    return "root_credentials_management" if name.startswith("RootCredentials") else "root_sessions"


# -- the writer against xmltodict -------------------------------------------------------------

HOSTILE = ["", "plain", "a&b", "<tag>", "x > y", 'say "hi"', "it's", "both \" and '", "tab\there",
           "line\nbreak\r\n", "ünïcødé ✓", "\u202ebidi", "]]>", "&amp;", "\x00nul"]  # fmt: skip
NAMES = ["Member", "Arn", "UserName", "IsTruncated", "a-b", "ns:x", "_u", "Ä"]


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(12 if depth < 4 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(HOSTILE)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return rng.choice([0, 7, -3, 2.5, 10**20])
    if kind == 4:
        return rng.choice(HOSTILE).encode("utf-8") + rng.choice([b"", b"\xff"])
    if kind == 5:
        return datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    if kind == 6:
        return rng.choice(HOSTILE)
    if kind in (7, 8):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 9:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randrange(3)))
    return _mapping(rng, depth + 1)


def _mapping(rng: random.Random, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(rng.randrange(5)):
        roll = rng.random()
        if roll < 0.15:
            out["#text"] = rng.choice([None, *HOSTILE, 5, True])
        elif roll < 0.3:
            out["@" + rng.choice(NAMES)] = rng.choice([None, *HOSTILE, 3, False])
        elif roll < 0.35:
            out["@xmlns"] = rng.choice(
                ["https://iam.amazonaws.com/doc/2010-05-08/", {"": "u", "p": None, "q": "a&b"}]
            )
        else:
            out[rng.choice(NAMES)] = _value(rng, depth)
    return out


def test_the_writer_equals_xmltodict_on_generated_documents() -> None:
    rng = random.Random(20261203)
    for case in range(3000):
        body = {rng.choice(NAMES): _value(rng, 0) for _ in range(rng.randrange(1, 3))}
        expected = xmltodict.unparse(body, full_document=False, short_empty_elements=True)
        assert unparse(body) == expected, (case, body)


@pytest.mark.parametrize(
    "body",
    [
        {"bad name": "x"},
        {"a/b": "x"},
        {"?pi": "x"},
        {"ok": {"@bad=attr": "x"}},
        {"ok": {"@xmlns": {"a b": "u"}}},
        {"ok": {"quote'd": "x"}},
        {3: "x"},
    ],
)
def test_names_xmltodict_refuses_are_refused(body: dict[Any, Any]) -> None:
    with pytest.raises(ValueError) as theirs:
        xmltodict.unparse(body, full_document=False, short_empty_elements=True)
    with pytest.raises(ValueError) as ours:
        unparse(body)
    assert str(ours.value) == str(theirs.value)


def test_moto_s_own_answers_are_unchanged_by_the_remembered_picker_keys() -> None:
    """moto answers DynamoDB, Organizations' reads, S3 and SQS itself: each read below is asked
    through moto's own picker and serialiser classes, then twice through the sandbox's
    (wire.speed_up_moto_serialisers), and the three bodies are the same bytes."""
    import moto.core.responses as responses

    from rootctl.sandbox import wire

    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    with Sandbox.start(enabled_fixture()) as sb:
        assert responses.XFormedAttributePicker is wire._moto_picker  # installed by start()
        assert responses.get_serializer_class is wire._moto_serializer_class
        moto_names = dict(wire._MOTO_NAMES)
        sandbox_names = {name: getattr(responses, name) for name in moto_names}
        ddb, org = client(sb, "dynamodb"), client(sb, "organizations")
        s3 = root_client(sb, PAYMENTS_PROD, Task.S3_UNLOCK, "s3")
        sqs = root_client(sb, PAYMENTS_PROD, Task.SQS_UNLOCK, "sqs")
        queue = sqs.get_queue_url(QueueName="payments-events")["QueueUrl"]
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        item = {
            "pk": {"S": "a"},
            "n": {"N": "1.5"},
            "b": {"B": b"\x00\xff"},
            "m": {"M": {"l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}}},
            "ss": {"SS": ["p", "q"]},
        }
        ddb.put_item(TableName="t", Item=item)
        reads = [
            lambda: ddb.describe_table(TableName="t"),
            lambda: ddb.get_item(TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True),
            lambda: ddb.query(
                TableName="t",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "a"}},
                ReturnConsumedCapacity="TOTAL",
            ),
            lambda: ddb.put_item(TableName="t", Item=item, ReturnValues="ALL_OLD"),
            lambda: ddb.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": "1.5"}},
                ReturnValues="ALL_NEW",
            ),
            lambda: ddb.list_tables(),
            lambda: org.describe_organization(),
            lambda: org.list_accounts(),
            lambda: org.list_roots(),
            lambda: s3.get_bucket_policy(Bucket="payments-prod-artifacts"),
            lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"]),
        ]
        for c in (ddb, org, s3, sqs):
            c.meta.events.register("after-call", keep)
        try:
            for read in reads:
                # The sandbox's twice: its first answer fills the remembered keys.
                for names in (moto_names, sandbox_names, sandbox_names):
                    for name, value in names.items():
                        setattr(responses, name, value)
                    read()
        finally:
            for name, value in sandbox_names.items():
                setattr(responses, name, value)
    assert len(bodies) == 3 * len(reads)
    for index in range(0, len(bodies), 3):
        moto, first, remembered = bodies[index : index + 3]
        assert moto and moto == first == remembered, index // 3
