"""Shared pytest fixtures: bin/ on sys.path, the repository root, ../shared data (skip when absent), tool checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "bin"
SHARED_DATA = Path(os.environ.get("MAGE_SHARED_DATA", REPO.parent / "shared" / "data"))
TEST_WORLD = REPO / "assets" / "test_world"

sys.path.insert(0, str(BIN))
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; tests using it skip when it is absent (it is never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_world() -> Path:
    """The bundled simulated test world (assets/test_world), written by bin/simulate_world.py."""
    if not (TEST_WORLD / "truth").is_dir():
        pytest.skip("assets/test_world has not been generated")
    return TEST_WORLD


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> Path:
    """A `nextflow run -profile test` and its `-resume` (tests/run_test_profile.sh): the folder given by
    MAGE_PIPELINE_RUN (CI runs the script first, with its log in the CI output), else a fresh run here."""
    given = os.environ.get("MAGE_PIPELINE_RUN")
    if given:
        return Path(given)
    if shutil.which("nextflow", path=f"{REPO / 'tools' / 'bin'}{os.pathsep}{os.environ['PATH']}") is None:
        if os.environ.get("CI"):
            pytest.fail("nextflow missing in CI (bash tests/setup.sh installs it)")
        pytest.skip("nextflow not installed (bash tests/setup.sh installs it)")
    outroot = tmp_path_factory.mktemp("pipeline")
    subprocess.run(["bash", str(REPO / "tests" / "run_test_profile.sh"), str(outroot)], check=True)
    return outroot


def require_tool(*tools: str) -> None:
    """Skip unless every tool is on PATH (CI installs them all; a developer may not have)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"tools missing in CI: {', '.join(missing)}")
        pytest.skip(f"tools not installed: {', '.join(missing)}")


def run_r(script: str, workdir: Path, package: str) -> None:
    """Run an R script in workdir; skip locally / fail in CI when R or the package is missing."""
    require_tool("Rscript")
    (workdir / "reference.R").write_text(script)
    proc = subprocess.run(["Rscript", "reference.R"], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        if "there is no package called" in proc.stderr:
            if os.environ.get("CI"):
                pytest.fail(f"R package {package} missing in CI")
            pytest.skip(f"R package {package} not installed")
        raise AssertionError(proc.stderr)


def run_replicates_resolve(work: Path, libraries) -> None:
    """Render REPLICATES_RESOLVE with the file names its tests stage in ``work`` (gene_{counts,tpm,lengths}.tsv,
    read_pairs/<library>.fastq_check.json, identity_passing.tsv, samples.tsv), run it there, check its outputs."""
    from nftools.render import render_process

    resolve = render_process(
        "modules/local/replicates/resolve/main.nf",
        inputs={
            "counts": "gene_counts.tsv",
            "tpm": "gene_tpm.tsv",
            "lengths": "gene_lengths.tsv",
            "read_pairs": [f"read_pairs/{lib}.fastq_check.json" for lib in libraries],
            "passing": "identity_passing.tsv",
            "samples": "samples.tsv",
        },
        ext={"args": "--selection max_reads"},
    )
    resolve.run(work)
    resolve.check_outputs(work)
