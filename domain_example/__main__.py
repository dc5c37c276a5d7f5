"""`python -m domain_example --help`."""

import sys

from domain_example.entrypoints.cli import main

sys.exit(main())
