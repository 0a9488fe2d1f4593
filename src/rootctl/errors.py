"""Error types shared by the library and the CLI.

`UsageError` means the user must fix their input (exit code 2, one line, no AWS change).
Errors that concern one account never raise: they become values in results.
"""

from __future__ import annotations


class RootctlError(Exception):
    """Base class for errors rootctl reports to the user as one line."""

    exit_code = 1


class UsageError(RootctlError):
    """Bad input: config, flag, account id, ARN, credentials or account kind.

    Raised before any AWS call that changes anything; the CLI prints the message and exits 2.
    """

    exit_code = 2


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or the exception class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def code_is(exc: BaseException, *names: str) -> bool:
    """True when the AWS error code equals one of `names`, in either spelling AWS uses.

    AWS documents some codes as `X` and botocore models them as `XException`; compare both.
    """
    code = error_code(exc)
    bare = code.removesuffix("Exception")
    return any(bare == name.removesuffix("Exception") for name in names)
