#!/usr/bin/env bash
# Run the pipeline on its bundled test profile, then again with -resume, and record what each run published:
#   OUTROOT/results/             the published outputs
#   OUTROOT/first.md5, resume.md5  checksums of every published file after each run (run reports excluded)
#   OUTROOT/results/pipeline_info/execution_trace_{first,resume}.txt
# tests/test_pipeline_run.py asserts on these (MAGE_PIPELINE_RUN=OUTROOT). Extra arguments go to both runs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
outroot="$(mkdir -p "${1:?usage: run_test_profile.sh OUTROOT [nextflow options]}" && cd "$1" && pwd)"
shift
export PATH="$repo/tools/bin:$PATH" NXF_ANSI_LOG=false

checksums() {  # every published file but the per-run reports (timeline, report, trace, DAG)
    (cd "$outroot/results" && find . -type f ! -name 'execution_*' ! -name 'pipeline_dag_*' | LC_ALL=C sort | xargs md5sum)
}

cd "$outroot"  # the launch directory holds .nextflow/, which -resume reads
for run in first resume; do
    resume=(); [ "$run" = resume ] && resume=(-resume)
    start=$(date +%s)
    nextflow run "$repo" -profile test --outdir "$outroot/results" -w "$outroot/work" \
        --trace_report_suffix "$run" "${resume[@]}" "$@"
    echo "nextflow run ($run): $(( $(date +%s) - start )) s"
    checksums > "$outroot/$run.md5"
done
