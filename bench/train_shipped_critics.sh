#!/usr/bin/env bash
# Reproduces the critic checkpoints shipped in critics/checkpoints/ with the project's
# own pipeline: collect logged episodes (the simulated LLM's Central Plan with
# verification feedback, from standard, random and perturbed starts; seeds from
# 1,000,000, disjoint from evaluation seeds), then train the critic with its defaults.
# Usage: bash bench/train_shipped_critics.sh [ENV ...]   (default: every shipped task)
# About 3 minutes of collection and 6 of training per task on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
brigade=".venv/bin/brigade"
episodes="${EPISODES:-3000}"
epochs="${EPOCHS:-20}"
tasks=("$@")
if [ ${#tasks[@]} -eq 0 ]; then
    tasks=(kitchen-read/cramped_room)
fi
for env in "${tasks[@]}"; do
    slug="${env//\//_}"
    data="data/critic/$slug"
    ckpt="critics/checkpoints/$slug-v0"
    "$brigade" collect --env "$env" --episodes "$episodes" --out "$data"
    "$brigade" train-critic --data "$data" --out "runs/critic-$slug" --epochs "$epochs"
    mkdir -p "$ckpt"
    cp "runs/critic-$slug/critic.json" "runs/critic-$slug/critic.safetensors" \
        "runs/critic-$slug/report.json" "$ckpt/"
    echo "shipped $ckpt (TensorBoard curves: runs/critic-$slug/tb)"
done
