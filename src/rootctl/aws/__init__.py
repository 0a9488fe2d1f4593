"""The only place rootctl builds AWS (botocore) clients: session factory, regional STS, root sessions.

Importing this package imports botocore (never boto3); the CLI imports it lazily, inside
commands, and only once its input is valid.
"""

from rootctl.aws.broker import RootSessionBroker
from rootctl.aws.retry import THROTTLING_CODES, Backoff, call_with_backoff, is_throttling
from rootctl.aws.session import CallerIdentity, Credentials, SessionFactory

__all__ = [
    "THROTTLING_CODES",
    "Backoff",
    "CallerIdentity",
    "Credentials",
    "RootSessionBroker",
    "SessionFactory",
    "call_with_backoff",
    "is_throttling",
]
