#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine (idempotent; quick when already installed):
# the reference tools (Debian packages), the pinned Python packages, and the Groovy 4 jars for the Nextflow checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
    salmon rna-star samtools bcftools tabix plink2 fastp fastqc sra-toolkit pigz
    qtltools fastqtl
    r-base-core r-bioc-edger r-bioc-deseq2 r-bioc-qvalue r-bioc-tximport r-cran-susier
    default-jre-headless time
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
