#!/usr/bin/env bash
# Install everything the pipeline and its tests need on a fresh Debian machine (idempotent; quick when already
# installed): the tools and reference implementations (Debian packages), the pinned Python packages, Nextflow and
# nf-test (tools/bin/), and the Groovy 4 jars for the structure checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    salmon rna-star samtools bcftools tabix plink2 fastp fastqc sra-toolkit pigz
    qtltools fastqtl
    r-base-core r-bioc-edger r-bioc-deseq2 r-bioc-qvalue r-bioc-tximport r-cran-susier
    default-jre-headless time curl
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" > /tmp/mage-apt.log 2>&1 \
        || { tail -n 30 /tmp/mage-apt.log; exit 1; }
fi

python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt

bash tests/nftools/setup_groovy.sh

# Nextflow and nf-test, linked into tools/bin: those already on PATH, else the offline build beside the repository
# (../shared/tools/nextflow, on machines without internet), else the official installers.
mkdir -p tools/bin
link_tool() {  # name, path
    ln -sf "$(readlink -f "$2")" "tools/bin/$1"
}
offline=../shared/tools/nextflow/bin
for tool in nextflow nf-test; do
    if [ -x "tools/bin/$tool" ] && "tools/bin/$tool" -version > /dev/null 2>&1; then
        continue
    elif command -v "$tool" > /dev/null && [ "$(command -v "$tool")" != "$PWD/tools/bin/$tool" ]; then
        link_tool "$tool" "$(command -v "$tool")"
    elif [ -x "$offline/$tool" ]; then
        link_tool "$tool" "$offline/$tool"
    elif [ "$tool" = nextflow ]; then
        (cd tools/bin && curl -fsSL https://get.nextflow.io | bash) > /dev/null
    else
        (cd tools/bin && curl -fsSL https://get.nf-test.com | bash -s 0.9.5) > /dev/null
    fi
done
echo "Nextflow: $(tools/bin/nextflow -version 2>&1 | grep -o 'version [0-9.]*' | head -n 1); nf-test: $(tools/bin/nf-test version 2>&1 | grep -o 'nf-test [0-9.]*' | head -n 1)"

