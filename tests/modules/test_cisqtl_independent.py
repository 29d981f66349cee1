"""CISQTL_INDEPENDENT: the rendered script maps conditionally independent signals of a chunk from the FDR table;
genes planted with two causal variants get two signals; and the stub."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from test_cis_engine import cohort_args, run_cli, simulate_cohort

from nftools.render import render_process

MODULE = "modules/local/cisqtl/independent/main.nf"
ARGS = "--window 50000 --permutations 200 --seed 1 --fdr 0.05"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    out = tmp_path_factory.mktemp("module_cohort_independent")
    truth = simulate_cohort(out, n_samples=200, n_causal=4, two_signal=4, n_null=40)
    run_cli("cis_qtl.py", "permutation", *cohort_args(out), "--window", "50000", "--permutations", "200", "--out", out / "eqtl")
    run_cli("qtl_fdr.py", "--permutation", out / "eqtl.cis_qtl.txt.gz", "--out", out / "eqtl", "--lambda", "0.5")
    return out, truth


def test_two_signals(mapped, tmp_path):
    out, truth = mapped
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi", "phenotypes.bed.gz", "phenotypes.bed.gz.tbi", "covariates.txt",
                 "eqtl.cis_qtl.fdr.txt.gz"):  # fmt: skip
        os.symlink(out / name, tmp_path / name)
    inputs = {"meta": {"id": "eqtl"}, "phenotypes": "phenotypes.bed.gz", "phenotypes_index": "phenotypes.bed.gz.tbi", "chunk": 1,
              "n_chunks": 1, "genotypes": "genotypes.vcf.gz", "covariates": "covariates.txt", "groups": [],
              "fdr_table": "eqtl.cis_qtl.fdr.txt.gz"}  # fmt: skip
    r = render_process(MODULE, inputs=inputs, ext={"args": ARGS}, cpus=1)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    independent = pd.read_csv(tmp_path / "eqtl.chunk0001.cis_independent_qtl.txt", sep="\t")
    counts = independent.groupby("phenotype_id").size()
    two = truth.loc[truth["signals"] == 2, "phenotype_id"].unique()
    assert (counts.reindex(two) == 2).sum() >= 3
    assert set(independent["rank"]) <= {1, 2}


def test_stub(tmp_path):
    inputs = {"meta": {"id": "eqtl"}, "phenotypes": "p.bed.gz", "phenotypes_index": "p.bed.gz.tbi", "chunk": 2, "n_chunks": 4,
              "genotypes": "g", "covariates": "c.txt", "groups": [], "fdr_table": "f.txt.gz"}  # fmt: skip
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
