"""magelib.phenotypes.normalize.tmm_factors / tmm_cpm against edgeR calcNormFactors(method = "TMM") and cpm()
(Debian r-bioc-edger).

All fixtures go to R in one Rscript call (session fixture). In CI (env CI set) a missing R or edgeR fails the tests.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from conftest import run_r
from magelib.phenotypes import normalize

R_SCRIPT = r"""
suppressMessages(library(edgeR))
for (f in list.files(".", pattern = "\\.counts\\.tsv$")) {
    name <- sub("\\.counts\\.tsv$", "", f)
    x <- as.matrix(read.table(f, header = TRUE, row.names = 1, sep = "\t", check.names = FALSE))
    y <- calcNormFactors(DGEList(x), method = "TMM")
    write.table(data.frame(nf = sprintf("%.17g", y$samples$norm.factors)), paste0(name, ".nf.tsv"),
                sep = "\t", quote = FALSE, row.names = FALSE)
    write.table(format(cpm(y), digits = 17), paste0(name, ".cpm.tsv"), sep = "\t", quote = FALSE)
}
"""


def adversarial_fixtures() -> dict[str, pd.DataFrame]:
    """Count matrices that stress TMM's edge rules (seeded, so the fixtures are fixed)."""
    rng = np.random.default_rng(7)
    genes, samples = 400, 8
    base = rng.lognormal(3, 1.5, size=genes)
    depth = rng.uniform(0.5, 2.0, size=samples)

    def frame(values):
        return pd.DataFrame(
            values, index=[f"g{i}" for i in range(values.shape[0])], columns=[f"s{j}" for j in range(values.shape[1])]
        )

    poisson = rng.poisson(np.outer(base, depth)).astype(float)
    zeros = poisson.copy()
    zeros[rng.random(zeros.shape) < 0.4] = 0  # 40 % zeros, some all-zero genes
    zeros[:10] = 0
    dominant = poisson.copy()
    dominant[0, 3] = dominant[:, 3].sum() * 9  # one gene takes 90 % of library 3
    equal = np.repeat(poisson[:, :1], samples, axis=1)  # identical libraries: every factor is exactly 1
    sparse = np.zeros((genes, samples))
    hits = rng.random(sparse.shape) < 0.15
    sparse[hits] = rng.integers(1, 50, size=hits.sum())  # upper quartile 0 everywhere: reference by largest sum of sqrt
    fractional = poisson * rng.uniform(0.6, 1.4, size=poisson.shape)  # Salmon-like non-integer counts
    ties = rng.poisson(np.outer(np.full(genes, 2.0), depth)).astype(float)  # small integers: many tied M and A values
    two = poisson[:, :2]
    return {
        "zeros": frame(zeros),
        "dominant": frame(dominant),
        "equal": frame(equal),
        "sparse": frame(sparse),
        "fractional": frame(fractional),
        "ties": frame(ties),
        "two_samples": frame(two),
    }


def real_fixtures(shared_data_dir, test_world_dir) -> dict[str, pd.DataFrame]:
    """GEUVADIS chr22 (RPKM-like values x 10, rounded to counts) and the test world's read counts, when present."""
    fixtures = {}
    bed = shared_data_dir / "qtltools-example_geuvadis-chr22" / "genes.50percent.chr22.bed.gz"
    if bed.exists():
        table = pd.read_csv(bed, sep="\t").set_index("gene").iloc[:, 5:]
        fixtures["geuvadis"] = np.rint(table * 10)
    counts = test_world_dir / "truth" / "gene_read_pairs.tsv"
    if counts.exists():
        fixtures["test_world"] = pd.read_csv(counts, sep="\t", index_col=0).astype(float)
    return fixtures


@pytest.fixture(scope="session")
def edger(tmp_path_factory):
    from conftest import SHARED_DATA, TEST_WORLD

    workdir = tmp_path_factory.mktemp("edger")
    fixtures = {**adversarial_fixtures(), **real_fixtures(SHARED_DATA, TEST_WORLD)}
    for name, counts in fixtures.items():
        counts.to_csv(workdir / f"{name}.counts.tsv", sep="\t", float_format="%.17g")
    run_r(R_SCRIPT, workdir, "edgeR")
    results = {}
    for name, counts in fixtures.items():
        factors = pd.read_csv(workdir / f"{name}.nf.tsv", sep="\t")["nf"].to_numpy()
        cpm = pd.read_csv(workdir / f"{name}.cpm.tsv", sep="\t", index_col=0).to_numpy()
        results[name] = (counts, factors, cpm)
    return results


@pytest.mark.parametrize("name", ["zeros", "dominant", "equal", "sparse", "fractional", "ties", "two_samples"])
def test_tmm_matches_edger_on_adversarial_counts(edger, name):
    counts, expected, expected_cpm = edger[name]
    factors = normalize.tmm_factors(counts.to_numpy())
    np.testing.assert_allclose(factors, expected, rtol=1e-10, atol=0)
    np.testing.assert_allclose(normalize.tmm_cpm(counts.to_numpy(), factors), expected_cpm, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["geuvadis", "test_world"])
def test_tmm_matches_edger_on_real_counts(edger, name):
    if name not in edger:
        pytest.skip(f"{name} data not present")
    counts, expected, expected_cpm = edger[name]
    factors = normalize.tmm_factors(counts.to_numpy())
    np.testing.assert_allclose(factors, expected, rtol=1e-8, atol=0)
    np.testing.assert_allclose(normalize.tmm_cpm(counts.to_numpy(), factors), expected_cpm, rtol=1e-8, atol=1e-12)
    assert not np.allclose(expected, 1.0), "real libraries should need non-trivial TMM factors"


def test_equal_libraries_have_unit_factors(edger):
    counts, expected, _ = edger["equal"]
    assert np.array_equal(normalize.tmm_factors(counts.to_numpy()), np.ones(counts.shape[1]))
    assert np.array_equal(expected, np.ones(counts.shape[1]))


def test_block_size_does_not_change_factors(edger, monkeypatch):
    counts, expected, _ = edger["fractional"]
    monkeypatch.setattr(normalize, "TMM_BLOCK_CELLS", 1)  # one sample per block
    np.testing.assert_allclose(normalize.tmm_factors(counts.to_numpy()), expected, rtol=1e-10)


def test_proportional_libraries_have_unit_factors_and_equal_cpm():
    """Closed form: libraries that are exact multiples of each other have M = 0 for every gene, so TMM is 1."""
    rng = np.random.default_rng(3)
    base = rng.poisson(rng.lognormal(3, 1, 300)).astype(float)
    counts = np.outer(base, [1, 2, 4, 8])
    factors = normalize.tmm_factors(counts)
    assert np.array_equal(factors, np.ones(4))
    cpm = normalize.tmm_cpm(counts, factors)
    np.testing.assert_allclose(cpm, np.repeat(base[:, None] / base.sum() * 1e6, 4, axis=1), rtol=1e-14)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
