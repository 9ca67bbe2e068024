"""`python -m annotate.cli` runs the command line."""

from . import main

main()
