"""Remove secrets from what is about to be journaled.

The journal lives on an operator's disk for years and is exported to other systems, so
it must never hold a credential: an AssumeRoot session's secret key and token, a root
password, an MFA seed. Scrubbing happens in `Journal.append`, so no caller can forget it.

Two rules, chosen so that a backed-up bucket or queue policy is never altered (restore
reads it back verbatim):
- in structured values, anything under a secret-named key is replaced, and a value that
  looks like a secret key is replaced when its key merely sounds sensitive;
- in free text (`error`, `reason`) `Name=value` pairs of secret names, standalone
  40-character secret keys and long base64 tokens are replaced.
"""

from __future__ import annotations

import json
import re
from typing import Any

REDACTED = "[redacted]"

# Key names (lower-cased, without "_" and "-") whose values are always secret.
_SECRET_KEY_PARTS = (
    "secretaccesskey",
    "sessiontoken",
    "securitytoken",
    "password",
    "passwd",
    "privatekey",
    "secretkey",
    "clientsecret",
    "authenticationcode",  # MFA codes (EnableMFADevice)
    "base32stringseed",  # virtual MFA seed
    "qrcodepng",
)
# Key names that are not secret by themselves but should not carry secret-looking values.
_SUSPICIOUS_KEY_PARTS = ("secret", "token", "credential", "auth", "key", "signature")

# An AWS secret access key: 40 characters of base64 alphabet.
_SECRET_VALUE = re.compile(r"^[A-Za-z0-9/+=]{40}$")
# Long base64 runs: session tokens are hundreds of characters.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{100,}={0,2}(?![A-Za-z0-9/+=])")
# A standalone 40-character run of the base64 alphabet.
_STANDALONE_40 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# Name=value / "Name": "value" / Name: value, for secret names, in text. Only the name's
# secret part is matched (the "aws_" of aws_secret_access_key stays in the text untouched):
# a leading [a-z_]* would make every long run of letters quadratic to scan.
_NAMED_SECRET = re.compile(
    r"""(?ix)
    (?P<name>(?:secret[_-]?access[_-]?key|session[_-]?token|security[_-]?token
        |password|passwd|private[_-]?key|client[_-]?secret)["']?)
    (?P<sep>\s*[:=]\s*)
    (?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|["']?[^\s"',;}&]+)
    """
)


def _normalise(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def is_secret_key(key: str) -> bool:
    """True for keys such as SecretAccessKey, session_token, aws_secret_access_key, Password."""
    norm = _normalise(key)
    return any(part in norm for part in _SECRET_KEY_PARTS)


def _is_suspicious_key(key: str) -> bool:
    norm = _normalise(key)
    # "AccessKeyId" names a key, it is not one: ids are what the journal is about.
    if norm.endswith(("keyid", "keyids")):
        return False
    return any(part in norm for part in _SUSPICIOUS_KEY_PARTS)


def looks_like_secret_key(text: str) -> bool:
    """40 characters of base64 with mixed case and a digit, as AWS secret keys are."""
    return bool(_SECRET_VALUE.match(text)) and _mixed(text)


def _mixed(text: str) -> bool:
    return (
        any(c.islower() for c in text)
        and any(c.isupper() for c in text)
        and any(c.isdigit() for c in text)
    )


def scrub_text(text: str) -> str:
    """Free text (an error message, a reason): replace anything that looks like a secret."""
    text = _NAMED_SECRET.sub(_redact_named, text)
    text = _LONG_TOKEN.sub(REDACTED, text)
    return _STANDALONE_40.sub(lambda m: REDACTED if _mixed(m[0]) else m[0], text)


def scrub_value(value: Any, key: str | None = None) -> Any:
    """A structured value (before/after): a copy with secrets replaced by REDACTED.

    Dict keys become strings (JSON's rule) and tuples become lists, so the result is what
    a JSON round trip gives back.
    """
    if key is not None and is_secret_key(key) and value is not None:
        return REDACTED
    if isinstance(value, dict):
        return {str(k): scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [scrub_value(item, key) for item in items]
    if isinstance(value, str):
        if key is not None and _is_suspicious_key(key) and looks_like_secret_key(value):
            return REDACTED
        return _scrub_string(value)
    return value


def _scrub_string(value: str) -> str:
    """A string inside a structured value: JSON documents are scrubbed by their keys.

    A bucket policy arrives as JSON text and must come back byte for byte, so a JSON
    document is only rewritten when it actually held a secret; other strings lose named
    secrets only (`password=...`), never a 40-character run, which could be part of an ARN.
    """
    stripped = value.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(value)
        except ValueError:
            document = None
        if isinstance(document, dict | list):
            scrubbed = scrub_value(document)
            return value if scrubbed == document else json.dumps(scrubbed, sort_keys=True)
    return _NAMED_SECRET.sub(_redact_named, value)


def _redact_named(match: re.Match[str]) -> str:
    value = match[0][match.end("sep") - match.start() :]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['name']}{match['sep']}{quote}{REDACTED}{quote}"
