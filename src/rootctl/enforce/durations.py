"""`--for 30m|4h|2d`: the length of a password recovery window.

At most seven days: a recovery window is for one incident (the owner of the root email
address resets the password, does the root-only task, and the password goes again). A
longer need is a `root_credentials.exceptions` entry, with a reason and an expiry date that
are reviewed with the config rather than typed on a command line.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rootctl.errors import UsageError

MAX_WINDOW = timedelta(days=7)
MIN_WINDOW = timedelta(minutes=1)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"([0-9]{1,6})([mhd])")


def parse_duration(text: str, *, flag: str = "--for") -> timedelta:
    """A whole number and a unit (m, h, d) from 1m to 7d; UsageError naming `flag` otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(
            f"{flag}: {text[:40]!r} is not a duration: write a whole number and a unit, "
            "e.g. 30m, 4h or 2d (at most 7d)"
        )
    window = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if window < MIN_WINDOW:
        raise UsageError(f"{flag}: {text.strip()} is too short: at least 1m")
    if window > MAX_WINDOW:
        raise UsageError(
            f"{flag}: {text.strip()} is longer than 7d, the maximum: a longer need is a "
            "root_credentials.exceptions entry with a reason and an expiry date"
        )
    return window
