#!/usr/bin/env bash
# Reproduces the critic checkpoints shipped in critics/checkpoints/ with the project's
# own pipeline: collect logged episodes (the simulated LLM's Central Plan with
# verification feedback, from standard, random and perturbed starts; seeds from
# 1,000,000, disjoint from evaluation seeds), then train the critic with its defaults.
# Usage: bash bench/train_shipped_critics.sh [ENV ...]   (default: every shipped task)
# Episodes: 3,000 per kitchen-read task (one move per step), 1,500 per skill-level
# kitchen task (EPISODES overrides both). About 3-5 minutes of collection and 6-10
# of training per task on two cores; collection resumes, so a rerun only trains.
set -euo pipefail
cd "$(dirname "$0")/.."
brigade=".venv/bin/brigade"
epochs="${EPOCHS:-20}"
tasks=("$@")
if [ ${#tasks[@]} -eq 0 ]; then
    tasks=(kitchen-read/cramped_room kitchen-read/forced_coordination kitchen/cramped_room kitchen/forced_coordination)
fi
for env in "${tasks[@]}"; do
    slug="${env//\//_}"
    case "$env" in
        kitchen-read/*) episodes="${EPISODES:-3000}" ;;
        *) episodes="${EPISODES:-1500}" ;;
    esac
    data="data/critic/$slug"
    ckpt="critics/checkpoints/$slug-v0"
    "$brigade" collect --env "$env" --episodes "$episodes" --out "$data"
    "$brigade" train-critic --data "$data" --out "runs/critic-$slug" --epochs "$epochs"
    mkdir -p "$ckpt"
    cp "runs/critic-$slug/critic.json" "runs/critic-$slug/critic.safetensors" \
        "runs/critic-$slug/report.json" "$ckpt/"
    echo "shipped $ckpt (TensorBoard curves: runs/critic-$slug/tb)"
done
