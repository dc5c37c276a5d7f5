"""`python -m bench [--quick] [--check] [--no-write]`: see bench/run.py."""

from .run import main

raise SystemExit(main())
