#!/usr/bin/env bash
# CI smoke: the benchmarks in quick mode (well under 2 minutes on 2 cores). Fails only when a goal
# of issue #8 is missed by more than 3x its target, or a request count changes: wide enough for a
# noisy CI machine, tight enough that a regression cannot land silently. Peers that are not
# installed (CI installs only .[dev]) are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m bench --quick --check
