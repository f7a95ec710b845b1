#!/usr/bin/env bash
# Creates the two reference environments that the kitchen benchmarks measure
# brigade against, in the repository root (both ignored by git as .venv-*/):
#
#   .venv-ref-overcooked  overcooked-ai 1.1.0, the reference simulator
#   .venv-ref-jaxmarl     JaxMARL's JAX port of Overcooked, CPU-only JAX
#
# Idempotent: a venv whose recorded pins match and whose imports work is left
# alone; otherwise it is (re)installed. Takes about a minute from nothing.
#
# Usage: bash bench/reference/setup_references.sh [--force] [overcooked|jaxmarl]...
#   --force      delete and recreate the named (default: both) venvs
#   PYTHON=...   the interpreter to base them on (default: python3.11; both
#                packages are verified on 3.11, and jaxmarl needs >= 3.11)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3.11}"

# overcooked-ai 1.1.0 imports on Python 3.11 only with scipy installed and
# numpy < 2 (it uses np.Inf and np.int). Its own dependencies (gym, pygame,
# ipywidgets, ...) are light, so they are installed as declared.
OVERCOOKED_PINS=(
    "overcooked-ai==1.1.0"
    "numpy==1.26.4"
    "scipy==1.17.1"
)
OVERCOOKED_CHECK='import overcooked_ai_py.mdp.overcooked_mdp, scipy'

# jaxmarl 0.2.0 with its declared dependencies (flax, chex, jaxtyping, gymnax,
# matplotlib, safetensors, ...): about 55 packages and 25 s, no torch and no
# CUDA. A plain `jax` pulls the CPU-only jaxlib. `--no-deps` is not worth it:
# `import jaxmarl` imports every one of its environments, and those (and
# flax's own imports) need most of that list anyway. jax 0.10.2 is the newest
# release for Python 3.11; it steps this env 2-3x faster on the CPU than
# jax 0.4.38 does.
JAXMARL_PINS=(
    "jaxmarl==0.2.0"
    "jax==0.10.2"
    "jaxlib==0.10.2"
    "flax==0.12.8"
    "chex==0.1.92"
    "jaxtyping==0.3.11"
    "gymnax==1.0.1"
    "numpy==2.4.6"
)
JAXMARL_CHECK='import jaxmarl, jax; from jaxmarl.environments.overcooked import overcooked_layouts'

STAMP_NAME=".brigade-reference-pins"

log() { printf '[setup_references] %s\n' "$*" >&2; }

# ensure_venv NAME FORCE CHECK PIN...
ensure_venv() {
    local name="$1" force="$2" check="$3"
    shift 3
    local venv="$ROOT/$name"
    local stamp="$venv/$STAMP_NAME"
    local want
    want="$(printf '%s\n' "$@")"

    if [[ "$force" == 1 && -d "$venv" ]]; then
        log "$name: --force, removing it"
        rm -rf "$venv"
    fi
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
        && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
        log "$name: up to date ($(tr '\n' ' ' <"$stamp"))"
        return 0
    fi
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "$name: creating with $("$PYTHON" --version 2>&1)"
        rm -rf "$venv"
        "$PYTHON" -m venv "$venv"
    fi
    log "$name: installing $*"
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    local out
    if ! out="$("$venv/bin/python" -c "$check" 2>&1)"; then
        log "$name: installed, but the import check failed: $check"
        printf '%s\n' "$out" >&2
        return 1
    fi
    printf '%s\n' "$want" >"$stamp"
    log "$name: ready"
}

main() {
    local force=0 targets=()
    for arg in "$@"; do
        case "$arg" in
            --force) force=1 ;;
            overcooked | jaxmarl) targets+=("$arg") ;;
            -h | --help)
                awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
                return 0
                ;;
            *)
                log "unknown argument '$arg' (expected --force, overcooked or jaxmarl)"
                return 2
                ;;
        esac
    done
    [[ ${#targets[@]} -gt 0 ]] || targets=(overcooked jaxmarl)

    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        log "need Python >= 3.11 as \$PYTHON (got '$PYTHON'); set PYTHON=/path/to/python3.11"
        return 1
    fi

    local start=$SECONDS
    for target in "${targets[@]}"; do
        case "$target" in
            overcooked) ensure_venv .venv-ref-overcooked "$force" "$OVERCOOKED_CHECK" "${OVERCOOKED_PINS[@]}" ;;
            jaxmarl) ensure_venv .venv-ref-jaxmarl "$force" "$JAXMARL_CHECK" "${JAXMARL_PINS[@]}" ;;
        esac
    done
    log "done in $((SECONDS - start)) s"
}

main "$@"
