"""COVARIATES_ASSEMBLE: the rendered script joins inputs listed in different orders by sample ID; error and stub."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from magelib.io import tables
from nftools.render import render_process

MODULE = "modules/local/covariates/assemble/main.nf"
EXT = {"prefix": "expression", "args": "--n-genotype-pcs 2 --known-covariates 'sex,batch'"}
INPUTS = {
    "meta": {"id": "expression"},
    "bed": "pheno.bed.gz",
    "tbi": "pheno.bed.gz.tbi",
    "genotype_pcs": "g.eigenvec",
    "hidden_factors": "factors.tsv",
    "samples": "samples.tsv",
    "focal": "focal.tsv",
}
IDS = [f"NA{i:03d}" for i in range(40)]


@pytest.fixture
def workdir(tmp_path):
    rng = np.random.default_rng(3)
    positions = pd.DataFrame({"chr": "chr2", "start": [5, 50], "end": [6, 51]}, index=["G1", "G2"])
    tables.write_phenotype_bed(
        positions, pd.DataFrame(rng.normal(size=(2, 40)), index=positions.index, columns=IDS), tmp_path / "pheno.bed.gz"
    )
    pcs = pd.DataFrame(rng.normal(size=(40, 3)), index=IDS, columns=["PC1", "PC2", "PC3"])
    order = rng.permutation(IDS)
    pcs.loc[order].reset_index(names="#IID").to_csv(tmp_path / "g.eigenvec", sep="\t", index=False)
    pd.DataFrame(rng.normal(size=(2, 40)), index=["expression_PC1", "expression_PC2"], columns=rng.permutation(IDS)).to_csv(
        tmp_path / "factors.tsv", sep="\t", index_label="id"
    )
    sex = dict(zip(IDS, rng.choice(["female", "male"], 40), strict=True))
    order = rng.permutation(IDS)
    pd.DataFrame(
        {
            "sample": [f"L{i}" for i in order],
            "individual": order,
            "population": "YRI",
            "sex": [sex[i] for i in order],
            "batch": [str(1 + int(i[2:]) % 3) for i in order],
        }
    ).to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    order = rng.permutation(IDS)
    pd.DataFrame({"individual": order, "library": [f"L{i}" for i in order]}).to_csv(tmp_path / "focal.tsv", sep="\t", index=False)
    return tmp_path, pcs, sex


def test_script_aligns_by_id(workdir):
    path, pcs, sex = workdir
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT)
    rendered.run(path)
    rendered.check_outputs(path)
    table = pd.read_csv(path / "expression.covariates.txt", sep="\t", index_col=0)
    assert list(table.columns) == IDS
    assert list(table.index) == ["genotype_PC1", "genotype_PC2", "expression_PC1", "expression_PC2", "sex", "batch_2", "batch_3"]
    np.testing.assert_allclose(table.loc["genotype_PC2"], pcs.loc[IDS, "PC2"], atol=1e-9)
    assert table.loc["sex"].tolist() == [float(sex[i] == "male") for i in IDS]
    assert (path / "expression.genotype_pca_mqc.json").exists()


def test_script_missing_sample_fails(workdir):
    path, _, _ = workdir
    lines = (path / "g.eigenvec").read_text().splitlines()
    (path / "g.eigenvec").write_text("\n".join(line for line in lines if not line.startswith("NA007")) + "\n")
    proc = render_process(MODULE, inputs=INPUTS, ext=EXT).run(path, check=False)
    assert proc.returncode == 1 and "ERROR: g.eigenvec: sample 'NA007' of the phenotype BED is missing" in proc.stderr


def test_stub(tmp_path):
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT, stub=True)
    rendered.run(tmp_path)
    rendered.check_outputs(tmp_path)
