#!/usr/bin/env bash
# Reproduces the critic checkpoints shipped in critics/checkpoints/ with the project's
# own pipeline. Per task it collects two sets of logged episodes, both from standard,
# random and perturbed starts, with seeds disjoint from the evaluation seeds (below
# 1,000,000):
#   - the simulated LLM's Central Plan with verification feedback, as in the paper
#     (seeds from 1,000,000);
#   - the scripted expert (seeds from 2,000,000). The paper's Overcooked critics
#     learned from expert trajectories; mixed with the LLM's, they give the critic
#     episodes that reach the goal.
# Then it trains the critic on both with its defaults (12 epochs, one torch thread,
# so that two tasks can train side by side).
# Usage: bash bench/train_shipped_critics.sh [ENV ...]   (default: every shipped task)
# Episodes of the LLM: 3,000 per kitchen-read task (one move per step), 1,500 per
# skill-level kitchen task (EPISODES overrides both); 1,500 of the expert. About 3-5 minutes of collection and 6-10
# of training per task on two cores; collection resumes, so a rerun only trains.
set -euo pipefail
cd "$(dirname "$0")/.."
brigade=".venv/bin/brigade"
epochs="${EPOCHS:-12}"
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
    "$brigade" collect --env "$env" --planner expert --episodes 1500 --seed 2000000 \
        --out "$data-expert"
    "$brigade" train-critic --data "$data,$data-expert" --out "runs/critic-$slug" \
        --epochs "$epochs" --threads=1
    mkdir -p "$ckpt"
    cp "runs/critic-$slug/critic.json" "runs/critic-$slug/critic.safetensors" \
        "runs/critic-$slug/report.json" "$ckpt/"
    echo "shipped $ckpt (TensorBoard curves: runs/critic-$slug/tb)"
done
# With no arguments, also the multi-layout critic for the unseen-layout test of
# bench/evaluate_read.sh: two-chef, two-pot kitchens (the same feature size) other
# than kitchen/coordination_ring, which it never sees.
if [ $# -eq 0 ]; then
    data=()
    for layout in forced_coordination asymmetric_advantages counter_circuit; do
        d="data/critic/kitchen_$layout"
        if [ "$layout" != forced_coordination ]; then
            "$brigade" collect --env "kitchen/$layout" --episodes 1000 --out "$d"
            "$brigade" collect --env "kitchen/$layout" --planner expert --episodes 500 \
                --seed 2000000 --out "$d-expert"
        fi
        data+=("$d" "$d-expert")
    done
    joined="$(IFS=,; echo "${data[*]}")"
    "$brigade" train-critic --data "$joined" --out runs/critic-kitchen-two-pot --epochs 8
    mkdir -p critics/checkpoints/multi/kitchen-two-pot
    cp runs/critic-kitchen-two-pot/critic.json runs/critic-kitchen-two-pot/critic.safetensors \
        runs/critic-kitchen-two-pot/report.json critics/checkpoints/multi/kitchen-two-pot/
    echo "shipped critics/checkpoints/multi/kitchen-two-pot"
fi
