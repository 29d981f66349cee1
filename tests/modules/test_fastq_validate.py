"""FASTQ_VALIDATE: the rendered script run on real test-world reads; the pair count must equal the simulator's truth."""

from __future__ import annotations

import gzip
import json
import os

import pandas as pd

from nftools.render import render_process

MODULE = "modules/local/fastq/validate/main.nf"
META = {"id": "GM90306", "single_end": False}


def stage(workdir, *paths):
    for path in paths:
        os.symlink(path, workdir / path.name)


def test_counts_test_world_library(test_world, tmp_path):
    reads = [test_world / "fastq" / f"GM90306_R{m}.fastq.gz" for m in (1, 2)]
    stage(tmp_path, *reads)
    r = render_process(MODULE, inputs={"meta": META, "reads": [p.name for p in reads]})
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    summary = json.loads((tmp_path / "GM90306.fastq_check.json").read_text())
    truth = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t", index_col=0)
    assert summary["read_pairs"] == truth.loc["GM90306", "read_pairs"]
    assert summary["read_length"] == json.loads((test_world / "truth" / "params.json").read_text())["read_length"]
    assert "magelib:" in (tmp_path / "versions.yml").read_text()


def test_corrupt_mate_fails_the_task(test_world, tmp_path):
    with gzip.open(test_world / "fastq" / "GM90306_R2.fastq.gz", "rt") as handle:
        lines = handle.read().splitlines(keepends=True)
    with gzip.open(tmp_path / "bad_R2.fastq.gz", "wt") as handle:
        handle.writelines(lines[:-4])  # one record short
    stage(tmp_path, test_world / "fastq" / "GM90306_R1.fastq.gz")
    r = render_process(MODULE, inputs={"meta": META, "reads": ["GM90306_R1.fastq.gz", "bad_R2.fastq.gz"]})
    proc = r.run(tmp_path, check=False)
    assert proc.returncode == 1
    assert "ERROR: bad_R2.fastq.gz: ends after" in proc.stderr
    assert not (tmp_path / "GM90306.fastq_check.json").exists()


def test_stub(tmp_path):
    r = render_process(MODULE, inputs={"meta": META, "reads": ["a_R1.fastq.gz", "a_R2.fastq.gz"]}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
