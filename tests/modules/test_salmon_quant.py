"""SALMON_QUANT: real Salmon on test-world libraries. Gene counts (transcripts summed) must track the simulator's
true read pairs per gene, and the library type chosen in ext.libtype must reach Salmon."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.io.gtf import tx2gene
from nftools.render import render_process

MODULE = "modules/local/salmon/quant/main.nf"


@pytest.fixture(scope="module")
def index(test_world, tmp_path_factory):
    require_tool("salmon")
    path = tmp_path_factory.mktemp("salmon_index") / "salmon"
    subprocess.run(
        ["salmon", "index", "-t", str(test_world / "reference" / "transcripts.fa"), "-i", str(path), "--gencode"],
        check=True,
        capture_output=True,
    )
    return path


def quantify(test_world, index, workdir, library, libtype=None):
    for m in (1, 2):
        os.symlink(test_world / "fastq" / f"{library}_R{m}.fastq.gz", workdir / f"{library}_R{m}.fastq.gz")
    os.symlink(index, workdir / "salmon")
    ext = {"libtype": libtype} if libtype else {}
    r = render_process(
        MODULE,
        inputs={
            "meta": {"id": library, "single_end": False},
            "reads": [f"{library}_R1.fastq.gz", f"{library}_R2.fastq.gz"],
            "index": "salmon",
        },
        ext=ext,
        cpus=2,
    )
    r.run(workdir)
    r.check_outputs(workdir)
    return r


def test_counts_track_truth(test_world, index, tmp_path):
    quantify(test_world, index, tmp_path, "GM91254")
    quant = pd.read_csv(tmp_path / "GM91254" / "quant.sf", sep="\t", index_col=0)
    genes = quant["NumReads"].groupby(tx2gene(test_world / "reference" / "genes.gtf").reindex(quant.index)).sum()
    truth = pd.read_csv(test_world / "truth" / "gene_read_pairs.tsv", sep="\t", index_col=0)["GM91254"]
    expressed = truth[truth > 20].index
    r = np.corrcoef(np.log1p(genes.reindex(expressed)), np.log1p(truth[expressed]))[0, 1]
    assert r > 0.95
    meta = json.loads((tmp_path / "GM91254" / "aux_info" / "meta_info.json").read_text())
    assert meta["library_types"] == ["A"] or meta["library_types"] == ["IU"]
    assert json.loads((tmp_path / "GM91254" / "lib_format_counts.json").read_text())["expected_format"] == "IU"


def test_libtype_reaches_salmon(test_world, index, tmp_path):
    r = quantify(test_world, index, tmp_path, "GM90306", libtype="ISR")
    assert "--libType ISR" in r.script
    counts = json.loads((tmp_path / "GM90306" / "lib_format_counts.json").read_text())
    assert counts["expected_format"] == "ISR"
    assert counts["ISF"] == 0 and counts["ISR"] > 0  # Salmon discards the pairs that contradict ISR ...
    meta = json.loads((tmp_path / "GM90306" / "aux_info" / "meta_info.json").read_text())
    assert meta["percent_mapped"] < 70  # ... and these unstranded reads are sense or antisense about equally


def test_stub(tmp_path):
    r = render_process(
        MODULE, inputs={"meta": {"id": "x", "single_end": False}, "reads": ["a.fq.gz", "b.fq.gz"], "index": "idx"}, stub=True
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
