"""`python -m rootctl` runs the CLI."""

from rootctl.cli.main import main

main()
