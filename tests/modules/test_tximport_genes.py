"""TXIMPORT_GENES: the rendered script over real Salmon outputs of three test-world libraries, with their
fastq_check summaries and samplesheet strandedness. Checks the declared outputs, a closed form (each library's
gene counts sum to its quant.sf NumReads), the strandedness fragment, --action fail, and that MultiQC reads both
custom-content tables."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest

from conftest import require_tool
from nftools.render import render_process

MODULE = "modules/local/tximport/genes/main.nf"
LIBRARIES = ["GM90306", "GM90878", "GM90974"]


@pytest.fixture(scope="module")
def salmon_outputs(test_world, tmp_path_factory):
    require_tool("salmon")
    root = tmp_path_factory.mktemp("tximport_module")
    subprocess.run(
        ["salmon", "index", "-t", str(test_world / "reference" / "transcripts.fa"), "-i", str(root / "idx"), "--gencode"],
        check=True,
        capture_output=True,
    )
    for library in LIBRARIES:
        r1, r2 = (str(test_world / "fastq" / f"{library}_R{m}.fastq.gz") for m in (1, 2))
        subprocess.run(
            ["salmon", "quant", "-i", str(root / "idx"), "-l", "A", "-1", r1, "-2", r2, "-o", str(root / library)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["fastq_check.py", r1, r2, "--sample", library, "--out", str(root / f"{library}.fastq_check.json")],
            check=True,
            capture_output=True,
        )
    return root


def stage(salmon_outputs, test_world, workdir, declared):
    (workdir / "quant").mkdir()
    (workdir / "read_pairs").mkdir()
    for library in LIBRARIES:
        shutil.copytree(salmon_outputs / library, workdir / "quant" / library)
        shutil.copy(salmon_outputs / f"{library}.fastq_check.json", workdir / "read_pairs")
    (workdir / "declared.tsv").write_text("sample\tstrandedness\n" + "".join(f"{k}\t{v}\n" for k, v in declared.items()))
    shutil.copy(test_world / "reference" / "genes.gtf", workdir / "genes.gtf")
    return {
        "quants": [f"quant/{library}" for library in LIBRARIES],
        "read_pairs": [f"read_pairs/{library}.fastq_check.json" for library in LIBRARIES],
        "declared_strandedness": "declared.tsv",
        "gtf": "genes.gtf",
    }


def test_gene_matrices_status_and_multiqc(salmon_outputs, test_world, tmp_path):
    sheet = pd.read_csv(test_world / "samplesheet.csv", index_col=0)
    declared = sheet.loc[LIBRARIES, "strandedness"].to_dict()
    inputs = stage(salmon_outputs, test_world, tmp_path, declared)
    r = render_process(MODULE, inputs=inputs, ext={"args": "--length-col Length", "args2": "--action fail"})
    r.run(tmp_path)
    r.check_outputs(tmp_path)

    counts = pd.read_csv(tmp_path / "gene_counts.tsv", sep="\t", index_col=0)
    assert list(counts.columns) == LIBRARIES
    for library in LIBRARIES:
        quant = pd.read_csv(tmp_path / "quant" / library / "quant.sf", sep="\t")
        assert counts[library].sum() == pytest.approx(quant["NumReads"].sum(), rel=1e-9)
    lengths = pd.read_csv(tmp_path / "gene_lengths.tsv", sep="\t", index_col=0)
    assert lengths.index.equals(counts.index) and (lengths > 0).all().all()

    status = pd.read_csv(tmp_path / "strandedness.status.tsv", sep="\t", keep_default_na=False)
    assert sorted(status["sample"]) == LIBRARIES and set(status["status"]) == {"kept"}

    require_tool("multiqc")
    subprocess.run(["multiqc", "--quiet", "--force", "--outdir", "mqc", "."], cwd=tmp_path, check=True, capture_output=True)
    general = pd.read_csv(tmp_path / "mqc" / "multiqc_data" / "multiqc_general_stats.txt", sep="\t", index_col=0)
    pairs = [c for c in general.columns if c.endswith("read_pairs")]
    assert (
        pairs
        and general.loc["GM90878", pairs[0]]
        == pd.read_json(tmp_path / "read_pairs" / "GM90878.fastq_check.json", typ="series")["read_pairs"]
    )
    assert list((tmp_path / "mqc" / "multiqc_data").glob("*mage_strandedness*"))


def test_strandedness_fail_stops_before_matrices(salmon_outputs, test_world, tmp_path):
    declared = {"GM90306": "reverse", "GM90878": "unstranded", "GM90974": "auto"}
    inputs = stage(salmon_outputs, test_world, tmp_path, declared)
    r = render_process(MODULE, inputs=inputs, ext={"args2": "--action fail"})
    proc = r.run(tmp_path, check=False)
    assert proc.returncode == 1
    assert "ERROR: strandedness disagrees with the samplesheet for 1 libraries: GM90306: samplesheet says reverse" in proc.stderr
    assert not (tmp_path / "gene_counts.tsv").exists() and not (tmp_path / "strandedness.status.tsv").exists()


def test_stub(tmp_path):
    r = render_process(
        MODULE, inputs={"quants": ["quant/a"], "read_pairs": [], "declared_strandedness": "d.tsv", "gtf": "g.gtf"}, stub=True
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
