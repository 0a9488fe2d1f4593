"""CSV: one row per account, for spreadsheets (columns in docs/output.md).

Lists (access key ids, MFA serials) are joined with ';' so each account stays one row.

Names and messages are untrusted: every cell goes through `rootctl.text.csv_cell` (OWASP CSV
injection: a cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`), and
records end with CRLF (RFC 4180) so that the csv module quotes any cell holding a CR or LF:
with a bare LF terminator it leaves a lone CR unquoted, and a name holding one would forge a
row.
"""

from __future__ import annotations

import csv
from typing import TextIO

from rootctl.credentials.models import AccountAudit, AuditReport
from rootctl.results import iso
from rootctl.text import csv_cell

COLUMNS = (
    "account_id",
    "account_name",
    "ou_path",
    "status",
    "has_root_credentials",
    "password_present",
    "password_created",
    "password_last_used",
    "access_keys",
    "active_access_keys",
    "access_key_ids",
    "access_keys_last_used",
    "signing_certificates",
    "signing_certificate_ids",
    "mfa_devices",
    "mfa_serial_numbers",
    "error_code",
    "error_message",
)


class CsvWriter:
    format = "csv"

    def write(self, report: AuditReport, out: TextIO) -> None:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for audit in report.accounts:
            writer.writerow({key: csv_cell(value) for key, value in row(audit).items()})


def row(audit: AccountAudit) -> dict[str, str]:
    values: dict[str, str] = {
        "account_id": audit.account_id,
        "account_name": audit.account_name,
        "ou_path": audit.ou_path,
        "status": audit.outcome,
        "has_root_credentials": _bool(audit.has_root_credentials),
        "error_code": audit.error.code if audit.error else "",
        "error_message": audit.error.message if audit.error else "",
    }
    root = audit.root
    if root is None:
        return values
    used = [key.last_used_date for key in root.access_keys if key.last_used_date is not None]
    values.update(
        password_present=_bool(root.password.present),
        password_created=iso(root.password.created) or "",
        password_last_used=iso(root.password.last_used) or "",
        access_keys=str(len(root.access_keys)),
        active_access_keys=str(sum(1 for key in root.access_keys if key.status == "Active")),
        access_key_ids=";".join(key.access_key_id for key in root.access_keys),
        access_keys_last_used=(iso(max(used)) or "") if used else "",
        signing_certificates=str(len(root.signing_certificates)),
        signing_certificate_ids=";".join(c.certificate_id for c in root.signing_certificates),
        mfa_devices=str(len(root.mfa_devices)),
        mfa_serial_numbers=";".join(
            f"{device.serial_number} ({device.type})" for device in root.mfa_devices
        ),
    )
    return values


def _bool(value: bool | None) -> str:
    return "" if value is None else str(value).lower()
