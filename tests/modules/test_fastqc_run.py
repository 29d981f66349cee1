"""FASTQC_RUN: real FastQC on a test-world library; reports are named by library and count the true reads."""

from __future__ import annotations

import os
import zipfile

import pandas as pd

from conftest import require_tool
from nftools.render import render_process

MODULE = "modules/local/fastqc/run/main.nf"


def test_fastqc_reports_named_by_library(test_world, tmp_path):
    require_tool("fastqc")
    for m in (1, 2):
        os.symlink(test_world / "fastq" / f"GM90878_R{m}.fastq.gz", tmp_path / f"GM90878_R{m}.fastq.gz")
    r = render_process(
        MODULE,
        inputs={"meta": {"id": "GM90878", "single_end": False}, "reads": ["GM90878_R1.fastq.gz", "GM90878_R2.fastq.gz"]},
        ext={"args": "--quiet"},
        cpus=2,
        memory="2 GB",
    )
    assert "--memory 1024" in r.script
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    truth = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t", index_col=0)
    for m in (1, 2):
        with zipfile.ZipFile(tmp_path / f"GM90878_{m}_fastqc.zip") as archive:
            data = archive.read(f"GM90878_{m}_fastqc/fastqc_data.txt").decode()
        total = next(line for line in data.splitlines() if line.startswith("Total Sequences"))
        assert int(total.split("\t")[1]) == truth.loc["GM90878", "read_pairs"]
    assert "fastqc: 0." in (tmp_path / "versions.yml").read_text()


def test_stub(tmp_path):
    r = render_process(MODULE, inputs={"meta": {"id": "x", "single_end": False}, "reads": ["a.fq.gz", "b.fq.gz"]}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
