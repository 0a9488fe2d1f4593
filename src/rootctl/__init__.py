"""rootctl: AWS Organizations centralized root access at organization scale.

The public Python API is re-exported from here as capabilities land; the CLI is a thin
skin over these functions.
"""

from rootctl.errors import RootctlError, UsageError
from rootctl.tasks import Task

__all__ = ["RootctlError", "Task", "UsageError", "__version__"]

__version__ = "0.1.0"
