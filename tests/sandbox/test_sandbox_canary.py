"""Canary: the sandbox patches moto internals, so a moto upgrade must fail here, loudly."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path


def test_moto_is_the_pinned_version() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    pinned = re.search(r'"moto\[server\]==([0-9.]+)"', pyproject)
    assert pinned, "moto must be pinned exactly in pyproject.toml"
    assert version("moto") == pinned.group(1), (
        f"moto {version('moto')} is installed but {pinned.group(1)} is pinned: re-check every patch in "
        "rootctl/sandbox (orgview.patch_moto, server._add_accounts, middleware._moto_identity) before moving the pin"
    )


def test_moto_internals_the_sandbox_relies_on() -> None:
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class  # noqa: F401
    from moto.iam.models import iam_backends  # noqa: F401
    from moto.organizations import models, utils
    from moto.organizations.models import organizations_backends

    assert isinstance(models.FakeServiceAccess.TRUSTED_SERVICES, list)
    assert isinstance(models.FakeDelegatedAdministrator.SUPPORTED_SERVICES, list)
    assert callable(utils.make_random_account_id)
    assert hasattr(organizations_backends, "master_accounts")
    assert hasattr(models.OrganizationsBackend, "register_delegated_administrator")
