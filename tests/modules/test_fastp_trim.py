"""FASTP_TRIM: real fastp on a test-world library; the JSON for MultiQC counts the true reads and the trimmed
mates stay paired (checked by fastq_check)."""

from __future__ import annotations

import json
import os

import pandas as pd

from conftest import require_tool
from magelib.reads.fastq import check_fastq
from nftools.render import render_process

MODULE = "modules/local/fastp/trim/main.nf"


def test_fastp_trims_and_reports(test_world, tmp_path):
    require_tool("fastp")
    for m in (1, 2):
        os.symlink(test_world / "fastq" / f"GM90878_R{m}.fastq.gz", tmp_path / f"GM90878_R{m}.fastq.gz")
    r = render_process(
        MODULE,
        inputs={"meta": {"id": "GM90878", "single_end": False}, "reads": ["GM90878_R1.fastq.gz", "GM90878_R2.fastq.gz"]},
        ext={"args": "--detect_adapter_for_pe"},
        cpus=2,
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    report = json.loads((tmp_path / "GM90878.fastp.json").read_text())
    truth = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t", index_col=0)
    assert report["summary"]["before_filtering"]["total_reads"] == 2 * truth.loc["GM90878", "read_pairs"]
    kept = check_fastq(tmp_path / "GM90878_1.fastp.fastq.gz", tmp_path / "GM90878_2.fastp.fastq.gz")
    assert 2 * kept.read_pairs == report["summary"]["after_filtering"]["total_reads"]
    assert "fastp: 0." in (tmp_path / "versions.yml").read_text()


def test_failure_shows_the_log(tmp_path):
    require_tool("fastp")
    (tmp_path / "a_R1.fastq.gz").write_bytes(b"not gzip")
    (tmp_path / "a_R2.fastq.gz").write_bytes(b"not gzip")
    r = render_process(MODULE, inputs={"meta": {"id": "a", "single_end": False}, "reads": ["a_R1.fastq.gz", "a_R2.fastq.gz"]})
    proc = r.run(tmp_path, check=False)
    assert proc.returncode != 0 and proc.stderr.strip()


def test_stub(tmp_path):
    r = render_process(MODULE, inputs={"meta": {"id": "x", "single_end": False}, "reads": ["a.fq.gz", "b.fq.gz"]}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
