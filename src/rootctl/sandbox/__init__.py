"""rootctl's sandbox: a local AWS organization that speaks centralized root access.

moto's server (pinned) over real HTTP, extended with AssumeRoot, the IAM organization
features, a root user per account, task-policy and SCP enforcement, and CloudTrail events.
"""

from rootctl.sandbox.fixture import Fixture, load_fixture, sample_fixture_path
from rootctl.sandbox.model import FaultConfig
from rootctl.sandbox.server import Sandbox, SandboxCredentials

__all__ = [
    "FaultConfig",
    "Fixture",
    "Sandbox",
    "SandboxCredentials",
    "load_fixture",
    "sample_fixture_path",
]
