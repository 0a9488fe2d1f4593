"""Endpoint URLs the user configured (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
`endpoint_url` in the AWS config), checked before any client is built.

botocore accepts some malformed URLs and fails on the first request with a traceback-shaped
error (another scheme: "Not supported URL scheme"; a port above 65535: "Port out of range";
`http://[::1`: "Invalid IPv6 URL"); others it refuses with a ValueError. One check here turns
each into one line naming the setting, exit 2, before anything is sent.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from rootctl.errors import UsageError
from rootctl.text import clean

EXAMPLE = "http://127.0.0.1:5050"


def check_endpoint_url(url: str, setting: str = "AWS_ENDPOINT_URL") -> str:
    """`url` when it is an http(s) URL with a host and a valid port, else a UsageError.

    `setting` names where the URL came from, so the message says what to fix.
    """
    problem = _problem(url)
    if problem is None:
        return url
    raise UsageError(
        f"endpoint URL {clean(repr(url))} is not usable: {problem}; {setting} must be a URL "
        f"such as {EXAMPLE}"
    )


def _problem(url: str) -> str | None:
    if not url.strip():
        return "it is blank"
    if url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", bad port
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return f"the scheme must be http or https, not {parts.scheme or 'missing'!r}"
    if not parts.hostname:
        return "it has no host"
    if port == 0:
        return "port 0 is not a port"
    return None
