"""`python -m bench [--quick] [--check] [--output FILE] [--update-docs]`: see bench/run.py."""

from .run import main

raise SystemExit(main())
