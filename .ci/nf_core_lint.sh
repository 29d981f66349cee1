#!/usr/bin/env bash
# nf-core pipelines lint (nf-core/tools 4.2.1) in its own virtualenv, non-interactive and offline-safe; exits 1 if any
# test fails. Settings and the tests that do not apply outside nf-core (each with its reason): .nf-core.yml.
#
# Two checks need the internet: files_unchanged (it renders nf-core's template, which fetches nf-co.re's pipeline
# list) and actions_schema_validation (it fetches the GitHub-workflow JSON schema). nf-core/tools crashes on them
# without a network, so each runs only when its host answers; otherwise it is skipped and listed as skipped.
#
#   bash .ci/nf_core_lint.sh [extra `nf-core pipelines lint` options, e.g. --markdown lint_results.md]
#
# Environment: MAGE_VENV_DIR (default ~/.cache/mage) holds nf-core-venv/; MAGE_LINT_OFFLINE=1 skips the network
# checks without probing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
start=$(date +%s)

NF_CORE_VERSION=4.2.1
venv="${MAGE_VENV_DIR:-${HOME:-/tmp}/.cache/mage}/nf-core-venv"

# nf-core/tools in its own venv: the system Python keeps the pipeline's pinned packages
if ! "$venv/bin/python" -c 'import sys' > /dev/null 2>&1; then
    mkdir -p "$(dirname "$venv")"
    python3 -m venv --clear "$venv"
fi
if [ "$("$venv/bin/python" -c 'import nf_core; print(nf_core.__version__)' 2> /dev/null)" != "$NF_CORE_VERSION" ]; then
    echo "Installing nf-core/tools $NF_CORE_VERSION into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "nf-core==$NF_CORE_VERSION" \
        > "$venv.pip.log" 2>&1 || { tail -n 30 "$venv.pip.log"; exit 1; }
fi

# nf-core lint runs `nextflow config`: use the one on PATH, else tests/setup.sh's link, else the offline build
if ! command -v nextflow > /dev/null; then
    for dir in "$repo/tools/bin" "$repo/../shared/tools/nextflow/bin"; do
        if [ -x "$dir/nextflow" ]; then
            PATH="$(cd "$dir" && pwd):$PATH"
            break
        fi
    done
fi
command -v nextflow > /dev/null || { echo "ERROR: nextflow not found (bash tests/setup.sh installs it)"; exit 1; }

export PATH NXF_ANSI_LOG=false
export NFCORE_NO_VERSION_CHECK=1 # no background request for the latest nf-core/tools version
export HIDE_PROGRESS=1 COLUMNS="${COLUMNS:-160}"

# Checks that need the internet, and the address each fetches; the rest of the lint runs offline.
network_tests=(
    "files_unchanged https://nf-co.re/pipelines.json"
    "actions_schema_validation https://www.schemastore.org/github-workflow"
)
skipped=()
skipped_why=()
for entry in "${network_tests[@]}"; do
    test_name="${entry%% *}"
    url="${entry#* }"
    if [ -n "${MAGE_LINT_OFFLINE:-}" ] || ! "$venv/bin/python" - "$url" > /dev/null 2>&1 << 'EOF'; then
import sys

import requests

requests.get(sys.argv[1], timeout=(5, 20)).raise_for_status()
EOF
        skipped+=("$test_name")
        skipped_why+=("$test_name (needs $url, unreachable)")
    fi
done

keys=()
if [ ${#skipped[@]} -gt 0 ]; then
    # run every other test by name (-k); lint 4.2.1 has no option to skip a test but .nf-core.yml, which ignores it
    while read -r test_name; do
        [[ " ${skipped[*]} " == *" $test_name "* ]] || keys+=(-k "$test_name")
    done < <("$venv/bin/python" -c '
from nf_core.pipelines.lint import PipelineLint
print("\n".join(PipelineLint._get_all_lint_tests(release_mode=False)))')
    echo "nf-core lint: skipping the network checks, offline here: $(IFS=';'; echo "${skipped_why[*]}" | sed 's/;/; /g')"
fi

# nf-core caches `nextflow config` by the hash of nextflow.config and main.nf only; drop this pipeline's entry so
# a change under conf/ is not linted against a stale config
"$venv/bin/python" - << 'EOF'
import hashlib
import os
from pathlib import Path

digest = "".join(hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in ("nextflow.config", "main.nf") if Path(f).is_file())
nxf_home = Path(os.environ.get("NXF_HOME") or Path(os.getenv("HOME") or "", ".nextflow"))
name = f"wf-config-cache-{hashlib.sha256(digest.encode()).hexdigest()[:25]}.json"
Path(nxf_home, "nf-core", name).unlink(missing_ok=True)
EOF

results="$(mktemp "${TMPDIR:-/tmp}/nf-core-lint.XXXXXX.json")"
trap 'rm -f "$results"' EXIT
rc=0
"$venv/bin/nf-core" --hide-progress pipelines lint --dir . --plain-text ${keys[@]+"${keys[@]}"} --json "$results" "$@" \
    < /dev/null || rc=$?

# One line per count, the ignored tests with the reasons .nf-core.yml gives, and what was skipped
"$venv/bin/python" - "$results" "${skipped[@]}" << 'EOF' || rc=1
import json
import re
import sys
from pathlib import Path

results, skipped = sys.argv[1], sys.argv[2:]
try:
    r = json.loads(Path(results).read_text())
except (OSError, ValueError):
    sys.exit("nf-core lint: no results were written (see the errors above)")
reasons = {}
for line in Path(".nf-core.yml").read_text().splitlines():
    m = re.match(r"\s*-?\s*([\w./-]+)\s*:?\s*(?:false)?\s*#\s*(.+)", line)
    if m:
        reasons[m.group(1)] = m.group(2)
print(
    f"nf-core lint totals: {r['num_tests_pass']} passed, {r['num_tests_warned']} warned, "
    f"{r['num_tests_failed']} failed, {r['num_tests_ignored']} ignored"
    + (f", {len(skipped)} skipped offline ({', '.join(skipped)})" if skipped else "")
)
for test, msg in r["tests_ignored"]:
    key = test if test == msg else next((k for k in reasons if f"`{k}`" in msg), test)
    what = test if test == msg else f"{test}: {msg}"
    print(f"  ignored  {what} -- {reasons.get(key, 'see .nf-core.yml')}")
for test, msg in r["tests_warned"]:
    print(f"  warned   {test}: {' '.join(msg.split())}")
for test, msg in r["tests_failed"]:
    print(f"  FAILED   {test}: {' '.join(msg.split())}")
sys.exit(1 if r["num_tests_failed"] else 0)
EOF
echo "nf-core lint took $(($(date +%s) - start)) s"
exit $((rc != 0))
