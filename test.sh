#!/usr/bin/env bash
# The whole test suite (slow tests included), on all cores. Extra arguments go to
# pytest: `bash test.sh -m "not slow"` is the quick loop.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup-venv
exec .venv/bin/python -m pytest -n auto -p no:cacheprovider "$@"
