#!/usr/bin/env bash
# The main job on its embedded default: a kitchen episode on Cramped Room played by
# the scripted expert, saved under runs/ as a video, a transcript and a summary.
# Extra arguments go to `brigade run` (e.g. --env kitchen/forced_coordination --episodes 5).
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup-venv
exec .venv/bin/brigade run "$@"
