"""rootctl.yaml: pydantic models, loading with one-line errors, and CLI value parsers.

Import from here; the submodules are an implementation detail:

    from rootctl.config import load_config, parse_account_ids
    config = load_config(None)            # ./rootctl.yaml, or defaults if there is none
    config.root_sessions.check_reason("OPS-123")
"""

from rootctl.config.fields import parse_account_id, parse_account_ids, parse_ou_path
from rootctl.config.loading import (
    DEFAULT_CONFIG_NAME,
    config_from_mapping,
    config_from_text,
    load_config,
)
from rootctl.config.models import (
    ALL_FEATURES,
    ALL_KINDS,
    ALL_TASKS,
    KNOWN_TEMPLATES,
    CentralizeRootAccess,
    CredentialException,
    CredentialKind,
    Feature,
    Guardrail,
    ProtectedResource,
    RootCredentialsPolicy,
    RootctlConfig,
    RootSessions,
)

__all__ = [
    "ALL_FEATURES",
    "ALL_KINDS",
    "ALL_TASKS",
    "DEFAULT_CONFIG_NAME",
    "KNOWN_TEMPLATES",
    "CentralizeRootAccess",
    "CredentialException",
    "CredentialKind",
    "Feature",
    "Guardrail",
    "ProtectedResource",
    "RootCredentialsPolicy",
    "RootSessions",
    "RootctlConfig",
    "config_from_mapping",
    "config_from_text",
    "load_config",
    "parse_account_id",
    "parse_account_ids",
    "parse_ou_path",
]
