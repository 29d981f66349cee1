#!/usr/bin/env bash
# Every test layer, in order, failing on the first error (the README's test command; .ci/run runs it):
#   ruff, nextflow lint (0 errors and 0 warnings), nextflow run -profile test and its -resume, nf-test (modules,
#   subworkflows, pipeline; committed snapshots), nf-core pipelines lint, pytest (numerics against the reference
#   tools, the science of the test-profile run, the resume and the published outputs).
# Needs what tests/setup.sh installs. Set MAGE_SKIP_NF_CORE_LINT=1 to skip nf-core lint (it installs a venv).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$repo/tools/bin:$PATH" NXF_ANSI_LOG=false
scratch="$(mktemp -d "${TMPDIR:-/tmp}/mage-tests.XXXXXX")"
timings=()

step() {  # name, command...
    local name="$1" start
    shift
    echo "=== $name"
    start=$(date +%s)
    "$@"
    timings+=("$(printf '%-34s %5d s' "$name" $(( $(date +%s) - start )))")
}

lint_nextflow() {
    # The pipeline's Nextflow code; not nf-test.config (nf-test's own DSL) nor tests/fixtures (faults on purpose)
    local out
    out=$(nextflow lint -o concise main.nf workflows subworkflows modules conf nextflow.config tests/nextflow.config 2>&1)
    echo "$out" | grep -v '^Linting:'
    ! echo "$out" | grep -Eq '^(Error|Warn)'
}

step "ruff" bash -c 'ruff check bin tests benchmarks && ruff format --check bin tests benchmarks'
step "nextflow lint" lint_nextflow
step "nextflow lint (strict parser v2)" env NXF_SYNTAX_PARSER=v2 bash -c "$(declare -f lint_nextflow); lint_nextflow"
# Run with the default parser: 25.04's v2 config parser does not see command-line params in config files
# (the run reports would go to null/pipeline_info); docs/development.md
step "nextflow run -profile test, -resume" bash tests/run_test_profile.sh "$scratch/pipeline"
step "nf-test (modules, subworkflows, pipeline)" env NFT_WORKDIR="$scratch/nf-test" nf-test test --ci
if [ -z "${MAGE_SKIP_NF_CORE_LINT:-}" ] && [ -f .ci/nf_core_lint.sh ]; then
    step "nf-core pipelines lint" bash .ci/nf_core_lint.sh
fi
run_pytest() {
    MAGE_PIPELINE_RUN="$scratch/pipeline" python3 -m pytest tests 2>&1 | tee "$scratch/pytest.log"
}
step "pytest" run_pytest

echo "=== wall time per step"
printf '%s\n' "${timings[@]}"
tail -n 1 "$scratch/pytest.log"  # pytest's summary stays the last line
