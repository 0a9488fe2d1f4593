"""Click commands: parsing and rendering only; the work is done by the library."""
