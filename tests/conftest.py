"""pytest fixtures only; shared helpers live in tests/support.py (`from support import ...`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rootctl.sandbox import Sandbox

from support import enabled_fixture, sample_fixture


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sample organization as shipped: nothing enabled yet."""
    with Sandbox.start(sample_fixture()) as sb:
        yield sb


@pytest.fixture
def enabled_sandbox() -> Iterator[Sandbox]:
    """The sample organization with trusted access and both features enabled."""
    with Sandbox.start(enabled_fixture()) as sb:
        yield sb
