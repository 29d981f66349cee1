# Image for mage's Python steps (bin/*.py over bin/magelib). See docs/containers.md.
#
#   docker build -t mage.local/mage-python:dev .
#
# Debian bookworm + Python 3.11 + the pinned wheels of requirements.txt + Debian's htslib:
# the same stack the CI tests run on, so the numerics users get are the tested ones.
# The "mage.local/" prefix keeps Nextflow from prepending docker.registry ('quay.io').
FROM python:3.11-slim-bookworm

# tabix: bgzip and tabix for phenotype BEDs. procps: `ps`, which Nextflow needs for task metrics.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tabix procps \
    && rm -rf /var/lib/apt/lists/*

# Runtime packages only, at the versions pinned in requirements.txt (test and lint tools stay out).
COPY requirements.txt /tmp/requirements.txt
RUN grep -E '^(numpy|pandas|scipy|statsmodels|cyvcf2|pyarrow)==' /tmp/requirements.txt > /tmp/runtime.txt \
    && test "$(wc -l < /tmp/runtime.txt)" -eq 6 \
    && pip install --no-cache-dir --only-binary=:all: -r /tmp/runtime.txt \
    && rm /tmp/requirements.txt /tmp/runtime.txt

# The CLIs, for use outside Nextflow; in a pipeline run Nextflow puts the pipeline's own bin/ first on PATH.
COPY bin/ /opt/mage/bin/
ENV PATH="/opt/mage/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

CMD ["bash"]
