#!/usr/bin/env bash
# Trains the critics shipped for the manipulation table (critics/checkpoints/table_*),
# one per DV-RoCoBench level, with the project's own pipeline and a fixed budget:
#   - 400 episodes of the simulated LLM's Central Plan with verification feedback
#     (seeds from 1,000,000), and
#   - 200 episodes of the scripted expert (seeds from 2,000,000), and
#   - 200 episodes of the same LLM without re-plans (seeds from 3,000,000): its plans
#     run as proposed, so the data holds the infeasible plans ReAd's critic must learn
#     to reject (ReAd-J does not verify before it acts; the baselines do),
# all from standard and perturbed starts, on the table's ideal backend (plans that
# pass the rules come true without physics: docs/table.md), then 12 epochs of training
# with one torch thread. The critics are evaluated on MuJoCo (docs/results.md).
# About 1-8 minutes per level on one core (Sort Cubes' expert is a search); two levels
# run side by side. Collection resumes, so a rerun only trains.
# Usage: bash bench/train_table_critics.sh [LEVEL ...]   (e.g. sort-3; default: all 14)
set -euo pipefail
cd "$(dirname "$0")/.."
brigade="$PWD/.venv/bin/brigade"
levels=("$@")
if [ ${#levels[@]} -eq 0 ]; then
    levels=(sort-1 sort-2 sort-3 sort-4 sort-5 sandwich-recipe1 sandwich-recipe2
            sandwich-recipe3 sandwich-recipe4 sweep-y1g1 sweep-y1g2 sweep-y2g2 sweep-y2g3
            sweep-y3g3)
fi
train_level() {
    local level="$1" brigade="$2"
    local env="table/$level" data="data/critic/table_$level" ckpt="critics/checkpoints/table_$level-v0"
    "$brigade" collect --env "$env" --episodes "${EPISODES:-400}" --start standard,perturbed \
        --out "$data" --task.backend=ideal
    "$brigade" collect --env "$env" --planner expert --episodes "${EXPERT_EPISODES:-200}" \
        --start standard,perturbed --seed 2000000 --out "$data-expert" --task.backend=ideal
    "$brigade" collect --env "$env" --episodes "${RAW_EPISODES:-200}" --start standard,perturbed \
        --seed 3000000 --out "$data-raw" --task.backend=ideal --planner_options.max_replans=0
    "$brigade" train-critic --data "$data,$data-expert,$data-raw" --out "runs/critic-table_$level" \
        --epochs "${EPOCHS:-12}" --threads=1
    mkdir -p "$ckpt"
    cp "runs/critic-table_$level/critic.json" "runs/critic-table_$level/critic.safetensors" \
        "runs/critic-table_$level/report.json" "$ckpt/"
    echo "shipped $ckpt"
}
export -f train_level
printf '%s\n' "${levels[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'train_level "$@"' _ {} "$brigade"
