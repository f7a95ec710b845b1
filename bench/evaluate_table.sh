#!/usr/bin/env bash
# ReAd on DV-RoCoBench (issue 5, section 6; docs/results.md): ReAd-J, ReAd-S and the five
# baselines with the frozen simulated LLM on every level of Sort Cubes, Make Sandwich and
# Sweep Floor, on MuJoCo through the skills, 10 paired seeds (0-9, disjoint from the
# critics' collection seeds), no video. The critics are the shipped table critics
# (bench/train_table_critics.sh). Ends with the tables and plots of `brigade report`.
# Usage: [STAGE=baselines|read] bash bench/evaluate_table.sh [OUT] [LEVEL ...]
# (default runs/table-eval, all 14 levels, both stages; resumable: finished episodes are kept)
set -euo pipefail
cd "$(dirname "$0")/.."
brigade=".venv/bin/brigade"
out="${1:-runs/table-eval}"
shift || true
levels=("$@")
if [ ${#levels[@]} -eq 0 ]; then
    levels=(sort-1 sort-2 sort-3 sort-4 sort-5 sandwich-recipe1 sandwich-recipe2
            sandwich-recipe3 sandwich-recipe4 sweep-y1g1 sweep-y1g2 sweep-y2g2 sweep-y2g3
            sweep-y3g3)
fi
episodes="${EPISODES:-10}"
# The baselines need no critic, so they run apart (STAGE=baselines) and can start while
# the critics train; ReAd-J and ReAd-S follow (STAGE=read). Each writes its own folder
# per level; the report reads both.
stages="${STAGE:-baselines read}"
for stage in $stages; do
    case "$stage" in
        baselines) planners="${PLANNERS:-central,react,reflexion,mindagent,roco}" ;;
        read) planners="${PLANNERS:-read-j,read-s}" ;;
        *) echo "unknown STAGE $stage (baselines, read)" >&2; exit 2 ;;
    esac
    for level in "${levels[@]}"; do
        "$brigade" run --env "table/$level" --planner "$planners" --episodes "$episodes" \
            --video none --workers "${WORKERS:-2}" --out "$out/$stage/$level" \
            --task.backend=mujoco
    done
done
mkdir -p docs/figures
"$brigade" report "$out"/*/*/ --plot docs/figures/table_eval.png --markdown "$out/report.md"
