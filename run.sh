#!/usr/bin/env bash
# The main job on its embedded default (configs/run/default.yaml): ReAd-J with its
# shipped critics against the five baselines on Cramped Room, with the simulated LLM;
# saved under runs/ with records, transcripts, videos and a summary.
# Extra arguments go to `brigade run` (e.g. --env kitchen/forced_coordination --episodes 5).
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup-venv
exec .venv/bin/brigade run "$@"
