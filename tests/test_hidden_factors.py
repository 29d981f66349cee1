"""hidden_factors.py and magelib.factors: PCA against R prcomp, Buja-Eyuboglu on planted factors, seeded reruns."""

from __future__ import annotations

import json
import os
import subprocess

import hidden_factors
import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.cli import InputError, run
from magelib.covariates import factors
from magelib.io import tables


def planted(n_samples=120, n_genes=400, n_factors=3, seed=4):
    """Genes x samples: n_factors strong latent factors (loadings ~ N(0, 1), scores ~ N(0, 1)) plus unit noise."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n_samples, n_factors))
    loadings = rng.normal(size=(n_genes, n_factors))
    return loadings @ scores.T + rng.normal(size=(n_genes, n_samples)), scores


def write_bed(path, values, samples):
    positions = pd.DataFrame(
        {"chr": "chr1", "start": np.arange(values.shape[0]) * 10, "end": np.arange(values.shape[0]) * 10 + 1},
        index=[f"G{i:04d}" for i in range(values.shape[0])],
    )
    tables.write_phenotype_bed(positions, pd.DataFrame(values, index=positions.index, columns=samples), path)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    def call(workdir, *argv, check=True):
        monkeypatch.chdir(workdir)
        code = run(hidden_factors.main, list(argv))
        err = capsys.readouterr().err
        if check:
            assert code == 0, err
        return code, err

    return call


def r_squared(target, basis):
    """Share of the variance of each target column explained by a linear fit on the basis columns (with intercept)."""
    design = np.column_stack([np.ones(len(basis)), basis])
    fitted = design @ np.linalg.lstsq(design, target, rcond=None)[0]
    return 1 - ((target - fitted) ** 2).sum(axis=0) / ((target - target.mean(axis=0)) ** 2).sum(axis=0)


def test_be_selects_the_planted_number_of_factors():
    values, truth = planted()
    x, _ = factors.standardize(values)
    result = factors.buja_eyuboglu(x, 20, 0.05, np.random.default_rng(1))
    assert result.n_selected == 3
    scores, _ = factors.pca_scores(x, result.n_selected)
    assert (r_squared(truth, scores) > 0.95).all()


def test_be_selects_nothing_in_pure_noise():
    rng = np.random.default_rng(8)
    x, _ = factors.standardize(rng.normal(size=(300, 80)))
    assert factors.buja_eyuboglu(x, 20, 0.05, np.random.default_rng(1)).n_selected <= 1


def test_be_p_values_are_monotone_and_bounded():
    values, _ = planted(n_factors=2)
    result = factors.buja_eyuboglu(factors.standardize(values)[0], 19, 0.05, np.random.default_rng(3))
    assert (np.diff(result.p_values) >= 0).all()
    assert result.p_values.min() == pytest.approx(1 / 20) and result.p_values.max() <= 1


def test_too_few_permutations_is_an_error():
    with pytest.raises(InputError, match="at least 19 permutations"):
        factors.buja_eyuboglu(np.zeros((5, 5)), 10, 0.05, np.random.default_rng(0))


@pytest.mark.parametrize(("n_samples", "n_genes"), [(30, 50), (50, 20)])
def test_pca_matches_r_prcomp(tmp_path, n_samples, n_genes):
    """Scores (up to sign) and proportions of variance equal R's prcomp(center = TRUE, scale. = TRUE)."""
    require_tool("Rscript")
    values, _ = planted(n_samples=n_samples, n_genes=n_genes)
    pd.DataFrame(values.T).to_csv(tmp_path / "x.tsv", sep="\t", index=False, float_format="%.17g")
    script = (
        'x <- as.matrix(read.table("x.tsv", header = TRUE)); p <- prcomp(x, center = TRUE, scale. = TRUE); '
        'write.table(format(p$x, digits = 17), "scores.tsv", sep = "\\t", quote = FALSE, row.names = FALSE); '
        "pve <- p$sdev^2 / sum(p$sdev^2); "
        'write.table(format(pve, digits = 17), "pve.tsv", quote = FALSE, row.names = FALSE, col.names = FALSE)'
    )
    proc = subprocess.run(["Rscript", "-e", script], cwd=tmp_path, capture_output=True, text=True)
    if proc.returncode and not os.environ.get("CI"):
        pytest.skip(f"R failed: {proc.stderr}")
    assert proc.returncode == 0, proc.stderr
    expected = pd.read_csv(tmp_path / "scores.tsv", sep="\t").to_numpy()[:, :10]
    scores, pve = factors.pca_scores(factors.standardize(values)[0], 10)
    signs = np.sign((scores * expected).sum(axis=0))
    np.testing.assert_allclose(scores * signs, expected, atol=1e-9)
    d = min(n_samples - 1, n_genes)
    np.testing.assert_allclose(pve[:d], np.loadtxt(tmp_path / "pve.tsv")[:d], atol=1e-12)


def test_cli_outputs_keyed_by_bed_samples(tmp_path, run_cli):
    values, truth = planted(n_samples=60, n_genes=200, n_factors=2, seed=9)
    samples = [f"ID{i:03d}" for i in range(60)]
    write_bed(tmp_path / "pheno.bed.gz", values, samples)
    table = pd.DataFrame({"sample": samples, "individual": samples, "continental_group": ["AFR", "EUR", "EAS"] * 20})
    table.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "out", "--samples", "samples.tsv", "--max-factors", "10")
    hidden = pd.read_csv(tmp_path / "out.hidden_factors.tsv", sep="\t", index_col=0)
    assert list(hidden.columns) == samples and list(hidden.index) == ["expression_PC1", "expression_PC2"]
    assert (r_squared(truth, hidden.T.to_numpy()) > 0.9).all()
    variance = pd.read_csv(tmp_path / "out.expression_pca.tsv", sep="\t")
    assert variance["selected"].sum() == 2 and len(variance) == 59
    assert (variance.loc[:1, "variance_explained"] > variance.loc[:1, "permuted_q95"]).all()
    for name in ("out.expression_pca_variance_mqc.json", "out.expression_pca_mqc.json"):
        content = json.loads((tmp_path / name).read_text())
        assert content["id"].startswith("mage_")
    scatter = json.loads((tmp_path / "out.expression_pca_mqc.json").read_text())["data"]
    assert scatter["ID001"]["group"] == "EUR"


def test_cli_rerun_is_identical_and_seed_matters(tmp_path, run_cli):
    values, _ = planted(n_samples=40, n_genes=100, n_factors=1, seed=2)
    write_bed(tmp_path / "pheno.bed.gz", values, [f"S{i}" for i in range(40)])
    outputs = []
    for seed in ("1", "1", "2"):
        run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "out", "--seed", seed)
        outputs.append([(tmp_path / f"out.{n}").read_bytes() for n in ("hidden_factors.tsv", "expression_pca.tsv")])
    assert outputs[0] == outputs[1]
    assert outputs[0][1] != outputs[2][1]  # permutation percentiles change with the seed


def test_fixed_number_of_factors(tmp_path, run_cli):
    values, _ = planted(n_samples=20, n_genes=50, n_factors=1)
    write_bed(tmp_path / "pheno.bed.gz", values, [f"S{i}" for i in range(20)])
    run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "out", "--n-factors", "4")
    assert len(pd.read_csv(tmp_path / "out.hidden_factors.tsv", sep="\t", index_col=0)) == 4
    code, err = run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "out", "--n-factors", "25", check=False)
    assert code == 1 and "25 PCs requested but 20 samples give at most 19" in err
    code, err = run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--n-factors", "some", check=False)
    assert code == 1 and "'auto' or a whole number" in err


def test_regressing_genotype_pcs_removes_them_from_the_factors(tmp_path, run_cli):
    """A genotype PC that drives many genes dominates expression PC1; regressed out first, no factor correlates with it."""
    rng = np.random.default_rng(6)
    samples = [f"S{i}" for i in range(80)]
    geno = rng.normal(size=80)
    values = np.outer(rng.normal(size=300), geno) * 2 + rng.normal(size=(300, 80))
    write_bed(tmp_path / "pheno.bed.gz", values, samples)
    eigenvec = pd.DataFrame({"#IID": samples[::-1], "PC1": geno[::-1], "PC2": rng.normal(size=80)})  # listed in another order
    eigenvec.to_csv(tmp_path / "g.eigenvec", sep="\t", index=False)
    run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "raw", "--n-factors", "3")
    run_cli(
        tmp_path,
        "--phenotypes",
        "pheno.bed.gz",
        "--prefix",
        "adj",
        "--n-factors",
        "3",
        "--genotype-pcs",
        "g.eigenvec",
        "--regress-genotype-pcs",
        "1",
    )
    raw = pd.read_csv(tmp_path / "raw.hidden_factors.tsv", sep="\t", index_col=0).to_numpy()
    adjusted = pd.read_csv(tmp_path / "adj.hidden_factors.tsv", sep="\t", index_col=0).to_numpy()
    assert abs(np.corrcoef(raw[0], geno)[0, 1]) > 0.95
    assert np.abs([np.corrcoef(row, geno)[0, 1] for row in adjusted]).max() < 1e-8


def test_constant_phenotypes_are_skipped(tmp_path, run_cli):
    values, _ = planted(n_samples=30, n_genes=60, n_factors=1)
    values[5] = 1.0
    write_bed(tmp_path / "pheno.bed.gz", values, [f"S{i}" for i in range(30)])
    _, err = run_cli(tmp_path, "--phenotypes", "pheno.bed.gz", "--prefix", "out", "--n-factors", "2")
    assert "59 phenotypes used, 1 constant ones skipped" in err
