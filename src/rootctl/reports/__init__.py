"""Report writers: one per output format, behind one small interface (`ReportWriter`)."""

from rootctl.reports.base import ReportWriter, report_formats, writer_for

__all__ = ["ReportWriter", "report_formats", "writer_for"]
