"""`rootctl.status/v1` and `rootctl.plan/v1`: where the organization stands, what apply changes.

`rootctl.plan/v1` is also the saved plan (`plan --out`): the fields that let `apply PLAN`
refuse a stale plan (`created_at`, `rootctl_version`, `config_sha256`, `config_source`,
`state_sha256`, `digest`) were added to v1 (additive: existing readers are unaffected).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from rootctl.documents.base import Document, Part, Timestamp

STATUS_SCHEMA: Final = "rootctl.status/v1"
PLAN_SCHEMA: Final = "rootctl.plan/v1"
ChangeKindName = Literal[
    "enable-trusted-access",
    "register-delegated-administrator",
    "deregister-delegated-administrator",
    "enable-feature",
    "disable-feature",
    "create-scp",
    "update-scp",
    "attach-scp",
    "detach-scp",
]


class CallerPart(Part):
    arn: str
    account_id: str
    role: Literal["management", "delegated-administrator", "member"]
    allows: str


class GuardrailPart(Part):
    name: str
    id: str
    targets: list[str]


class StatusDocument(Document):
    schema_id: Literal["rootctl.status/v1"] = Field(default=STATUS_SCHEMA, alias="schema")
    organization_id: str
    feature_set: str
    management_account_id: str
    caller: CallerPart
    iam_trusted_access: bool | None
    iam_delegated_administrators: list[str]
    enabled_features: list[str] | None
    root_guardrails: list[GuardrailPart]
    conflicts: list[str]
    unknown: list[str]


class OrgChangePart(Part):
    """One change; fields that do not apply to its kind are left out of the JSON."""

    # Optional fields are absent, not null: the schema describes them as they are read.
    model_config = ConfigDict(json_schema_mode_override="validation")

    kind: ChangeKindName
    target: str
    detail: str = ""
    before: Any = None
    after: Any = None
    policy_id: str | None = None
    target_id: str | None = None

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None and v != ""}


class ConfigSourcePart(Part):
    """Where the desired state came from, read again by `apply PLAN` to check its hash."""

    kind: Literal["file", "terraform"]
    path: str


class PlanDocument(Document):
    schema_id: Literal["rootctl.plan/v1"] = Field(default=PLAN_SCHEMA, alias="schema")
    organization_id: str
    changes: list[OrgChangePart]
    errors: list[str]
    warnings: list[str]
    created_at: Timestamp
    rootctl_version: str
    config_source: ConfigSourcePart | None
    config_sha256: str
    state_sha256: str
    digest: str = ""
