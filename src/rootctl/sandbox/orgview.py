"""Read-only views of moto's Organizations state, and the few patches moto needs.

moto keeps one organization per management account; member accounts find it through
`organizations_backends.master_accounts`. Everything here runs inside the sandbox process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

IAM_PRINCIPAL = "iam.amazonaws.com"


@dataclass(frozen=True)
class OrgContext:
    """The organization an account belongs to, as the sandbox needs it."""

    org_id: str
    management_account_id: str
    feature_set: str
    backend: Any  # moto OrganizationsBackend of the management account

    def trusted_access(self, principal: str = IAM_PRINCIPAL) -> bool:
        return any(s["ServicePrincipal"] == principal for s in self.backend.services)

    def delegated_admins(self, principal: str = IAM_PRINCIPAL) -> list[str]:
        return [a.account.id for a in self.backend.admins if principal in a.services]

    def account(self, account_id: str) -> Any | None:
        """The moto account, through an id index (moto scans its list; we must not at 10k accounts)."""
        index: dict[str, Any] | None = getattr(self.backend, "_rootctl_index", None)
        accounts = self.backend.accounts
        if (
            index is None
            or len(index) != len(accounts)
            or (accounts and index.get(accounts[-1].id) is not accounts[-1])
        ):
            index = {a.id: a for a in accounts}
            self.backend._rootctl_index = index
        return index.get(account_id)

    def ou_path(self, parent_id: str) -> str:
        """/root/a/b for an OU id (names joined from the root)."""
        names: list[str] = []
        by_id = {ou.id: ou for ou in self.backend.ou}
        current = by_id.get(parent_id)
        while current is not None and current.type != "ROOT":
            names.append(str(current.name))
            current = by_id.get(current.parent_id)
        return "/".join(["/root", *reversed(names)]) if names else "/root"

    def scp_levels(self, account_id: str) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
        """SCPs attached on the account's path, from the root down to the account itself."""
        return [
            (level, [(name, json.loads(text)) for name, text in policies])
            for level, policies in self.scp_level_texts(account_id)
        ]

    def scp_level_texts(self, account_id: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """`scp_levels` with each policy's JSON text as moto holds it, not parsed.

        What the sandbox enforces on every root call: evaluate_scps evaluates text through
        its cache, so a policy is not parsed and evaluated again for the same request.
        """
        account = self.account(account_id)
        if account is None:
            return []
        by_id = {ou.id: ou for ou in self.backend.ou}
        chain: list[Any] = []
        current = by_id.get(account.parent_id)
        while current is not None:
            chain.append(current)
            current = by_id.get(current.parent_id) if current.type != "ROOT" else None
        levels: list[tuple[str, list[tuple[str, str]]]] = []
        for node in [*reversed(chain), account]:
            if node.type == "ROOT":
                name = "root"
            elif node.type == "ACCOUNT":
                name = f"account:{node.id}"
            else:
                name = f"ou:{self.ou_path(node.id)}"
            policies = [
                (str(p.name), str(p.content))
                for p in node.attached_policies
                if p.type == "SERVICE_CONTROL_POLICY"
            ]
            levels.append((name, policies))
        return levels


def org_context(account_id: str) -> OrgContext | None:
    """The organization of `account_id` (management or member), or None."""
    from moto.organizations.models import organizations_backends

    backend = None
    own = (
        organizations_backends[account_id]["aws"] if account_id in organizations_backends else None
    )
    if own is not None and own.org is not None:
        backend = own
    elif account_id in organizations_backends.master_accounts:
        master_id, partition = organizations_backends.master_accounts[account_id]
        backend = organizations_backends[master_id][partition]
    if backend is None or backend.org is None:
        return None
    org = backend.org
    return OrgContext(
        org_id=str(org.id),
        management_account_id=str(org.master_account_id),
        feature_set=str(org.feature_set),
        backend=backend,
    )


_PATCHED = False


def patch_moto() -> None:
    """Teach moto that IAM supports trusted access and delegated administration.

    moto keeps hard-coded allow-lists of service principals, and its RegisterDelegatedAdministrator
    leaves a ghost entry behind when it rejects a principal: fix both.
    """
    global _PATCHED
    if _PATCHED:
        return
    from moto.organizations import models

    if IAM_PRINCIPAL not in models.FakeServiceAccess.TRUSTED_SERVICES:
        models.FakeServiceAccess.TRUSTED_SERVICES.append(IAM_PRINCIPAL)
    if IAM_PRINCIPAL not in models.FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        models.FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(IAM_PRINCIPAL)

    original = models.OrganizationsBackend.register_delegated_administrator

    def register_delegated_administrator(self: Any, **kwargs: str) -> None:
        before = list(self.admins)
        try:
            original(self, **kwargs)
        except Exception:
            # Roll back the admin entry moto appended before validating (no ghost entries).
            self.admins[:] = [a for a in self.admins if a in before or a.services]
            raise

    models.OrganizationsBackend.register_delegated_administrator = register_delegated_administrator  # type: ignore[method-assign]
    _patch_policy_ids(models)
    _remember_name_conversions()
    _PATCHED = True


def _remember_name_conversions() -> None:
    """moto's camelcase_to_underscores, remembered where moto calls it per request.

    A pure function of its string, done character by character: SQS GetQueueAttributes
    converted every attribute name (about 20 per queue) on every call, moto's dispatcher
    every action name. Bounded: an action name comes from the client.
    """
    from moto.core import responses
    from moto.core.utils import camelcase_to_underscores
    from moto.sqs import models as sqs_models

    remembered = lru_cache(maxsize=1024)(camelcase_to_underscores)
    for module in (responses, sqs_models):
        if getattr(module, "camelcase_to_underscores", None) is camelcase_to_underscores:
            setattr(module, "camelcase_to_underscores", remembered)  # noqa: B010


# AWS-managed policies live in the `aws` account (Organizations API reference, PolicySummary:
# "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess").
_AWS_MANAGED_ARN = "arn:aws:organizations::aws:policy/{kind}/{id}"
# botocore's PolicyArn pattern wants p- and 10 to 32 characters; moto makes 8.
_POLICY_ID_SIZE = 12


def _patch_policy_ids(models: Any) -> None:
    """Policy ids and the AWS-managed policies' ARNs as the Organizations model describes them."""
    from moto.organizations import utils

    utils.POLICY_ID_SIZE = _POLICY_ID_SIZE
    utils.POLICY_ID_REGEX = (
        rf"{utils.DEFAULT_SCP_POLICY_ID}|{utils.DEFAULT_RCP_POLICY_ID}"
        rf"|p-[a-z0-9]{{{_POLICY_ID_SIZE}}}"
    )
    original = models.FakePolicy.arn

    def arn(self: Any) -> str:
        if self.aws_managed:
            return _AWS_MANAGED_ARN.format(kind=self.type.lower(), id=self.id)
        return str(original.fget(self))

    models.FakePolicy.arn = property(arn)
