"""COVARIATES_HIDDENFACTORS: the rendered script on a phenotype BED with two planted factors; outputs and stub."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from magelib.io import tables
from nftools.render import render_process

MODULE = "modules/local/covariates/hiddenfactors/main.nf"
EXT = {"prefix": "expression", "args": "--n-factors auto --max-factors 10 --seed 1"}
INPUTS = {
    "meta": {"id": "expression"},
    "bed": "pheno.bed.gz",
    "tbi": "pheno.bed.gz.tbi",
    "genotype_pcs": [],
    "samples": "samples.tsv",
}


def test_script_finds_the_planted_factors(tmp_path):
    rng = np.random.default_rng(1)
    samples = [f"NA{i:03d}" for i in range(50)]
    values = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 50)) * 1.5 + rng.normal(size=(150, 50))
    positions = pd.DataFrame(
        {"chr": "chr1", "start": np.arange(150), "end": np.arange(150) + 1}, index=[f"G{i}" for i in range(150)]
    )
    tables.write_phenotype_bed(positions, pd.DataFrame(values, index=positions.index, columns=samples), tmp_path / "pheno.bed.gz")
    pd.DataFrame({"sample": samples, "individual": samples, "continental_group": ["AFR", "EUR"] * 25}).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False
    )
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT, cpus=1)
    rendered.run(tmp_path)
    rendered.check_outputs(tmp_path)
    factors = pd.read_csv(tmp_path / "expression.hidden_factors.tsv", sep="\t", index_col=0)
    assert list(factors.index) == ["expression_PC1", "expression_PC2"] and list(factors.columns) == samples
    assert json.loads((tmp_path / "expression.expression_pca_mqc.json").read_text())["plot_type"] == "scatter"
    assert "magelib:" in (tmp_path / "versions.yml").read_text()


def test_stub(tmp_path):
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT, stub=True)
    rendered.run(tmp_path)
    rendered.check_outputs(tmp_path)
