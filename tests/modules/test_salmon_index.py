"""SALMON_INDEX: real Salmon index of the test-world transcripts (GENCODE-style FASTA headers 'TX|GENE|...') with the
pipeline's arguments. --gencode must reach Salmon: with it quant.sf names are the bare transcript IDs of the GTF,
without it they keep the '|' fields."""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest

from conftest import require_tool
from magelib.io.gtf import tx2gene
from nftools.render import render_process

MODULE = "modules/local/salmon/index/main.nf"


@pytest.mark.parametrize("gencode", [True, False])
def test_index_names(test_world, tmp_path, gencode):
    require_tool("salmon")
    os.symlink(test_world / "reference" / "transcripts.fa", tmp_path / "transcripts.fa")
    args = "-k 31 --gencode" if gencode else "-k 31"
    r = render_process(MODULE, inputs={"transcript_fasta": "transcripts.fa"}, ext={"args": args}, cpus=2)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    assert json.loads((tmp_path / "salmon" / "info.json").read_text())["k"] == 31
    assert "salmon: 1." in (tmp_path / "versions.yml").read_text()

    reads = [str(test_world / "fastq" / f"GM90306_R{m}.fastq.gz") for m in (1, 2)]
    subprocess.run(
        ["salmon", "quant", "-i", "salmon", "-l", "A", "-1", reads[0], "-2", reads[1], "-o", "q"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    names = pd.read_csv(tmp_path / "q" / "quant.sf", sep="\t")["Name"]
    if gencode:
        assert set(names) <= set(tx2gene(test_world / "reference" / "genes.gtf").index)
    else:
        assert names.str.contains("|", regex=False).all()


def test_stub(tmp_path):
    r = render_process(MODULE, inputs={"transcript_fasta": "t.fa"}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
