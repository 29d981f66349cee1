"""magelib.normalize DESeq2 median-of-ratios against DESeq2 (Debian r-bioc-deseq2), with and without tximport lengths.

With lengths the reference is DESeqDataSetFromTximport (counts rounded, avgTxLength assay) + estimateSizeFactors,
compared through normalizationFactors(dds) and counts(dds, normalized = TRUE); without lengths it is
DESeqDataSetFromMatrix(round(counts)) + estimateSizeFactors. One Rscript call for all fixtures (DESeq2 loads slowly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import run_r
from magelib.cli import InputError
from magelib.phenotypes import normalize

R_SCRIPT = r"""
suppressMessages(library(DESeq2))
read <- function(f) as.matrix(read.table(f, header = TRUE, row.names = 1, sep = "\t", check.names = FALSE))
out <- function(m, f) write.table(format(m, digits = 17), f, sep = "\t", quote = FALSE)
for (f in list.files(".", pattern = "\\.counts\\.tsv$")) {
    name <- sub("\\.counts\\.tsv$", "", f)
    x <- read(f)
    cd <- data.frame(row.names = colnames(x), s = colnames(x))
    plain <- estimateSizeFactors(DESeqDataSetFromMatrix(round(x), cd, ~1))
    write.table(data.frame(sf = sprintf("%.17g", sizeFactors(plain))), paste0(name, ".sf.tsv"), sep = "\t",
                quote = FALSE, row.names = FALSE)
    out(counts(plain, normalized = TRUE), paste0(name, ".plain_norm.tsv"))
    lf <- paste0(name, ".lengths.tsv")
    if (file.exists(lf)) {
        txi <- list(counts = x, abundance = x, length = read(lf), countsFromAbundance = "no")
        dds <- suppressMessages(estimateSizeFactors(DESeqDataSetFromTximport(txi, cd, ~1)))
        out(normalizationFactors(dds), paste0(name, ".nf.tsv"))
        out(counts(dds, normalized = TRUE), paste0(name, ".norm.tsv"))
    }
}
"""


def fixtures() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """(counts, lengths) pairs: real GEUVADIS chr22 values, the test world's counts and adversarial cases."""
    from conftest import SHARED_DATA, TEST_WORLD

    rng = np.random.default_rng(11)
    cases = {}

    def lengths_for(counts, spread=0.3):
        typical = rng.uniform(500, 5000, size=counts.shape[0])
        values = typical[:, None] * rng.uniform(1 - spread, 1 + spread, size=counts.shape)
        return pd.DataFrame(values, index=counts.index, columns=counts.columns)

    bed = SHARED_DATA / "qtltools-example_geuvadis-chr22" / "genes.50percent.chr22.bed.gz"
    if bed.exists():
        counts = pd.read_csv(bed, sep="\t").set_index("gene").iloc[:, 5:] * 10  # RPKM-like -> count-like, not rounded
        cases["geuvadis"] = (counts, lengths_for(counts))
    truth = TEST_WORLD / "truth" / "gene_read_pairs.tsv"
    if truth.exists():
        counts = pd.read_csv(truth, sep="\t", index_col=0).astype(float)
        cases["test_world"] = (counts, lengths_for(counts))

    genes, samples = 300, 6
    index, columns = [f"g{i}" for i in range(genes)], [f"s{j}" for j in range(samples)]
    poisson = rng.poisson(np.outer(rng.lognormal(3, 1.2, genes), rng.uniform(0.5, 2, samples))).astype(float)
    halves = poisson + 0.5  # exact .5: R rounds half to even (2.5 -> 2, 3.5 -> 4)
    dominant = poisson.copy()
    dominant[0, 2] = poisson[:, 2].sum() * 20
    for name, values in (("zeros_and_halves", halves), ("dominant", dominant)):
        values = values.copy()
        values[rng.random(values.shape) < 0.2] = 0  # genes with a zero drop out of the medians
        counts = pd.DataFrame(values, index=index, columns=columns)
        cases[name] = (counts, lengths_for(counts))
    return cases


@pytest.fixture(scope="session")
def deseq2(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("deseq2")
    cases = fixtures()
    for name, (counts, lengths) in cases.items():
        counts.to_csv(workdir / f"{name}.counts.tsv", sep="\t", float_format="%.17g")
        lengths.to_csv(workdir / f"{name}.lengths.tsv", sep="\t", float_format="%.17g")
    run_r(R_SCRIPT, workdir, "DESeq2")

    def read(name, what):
        return pd.read_csv(workdir / f"{name}.{what}.tsv", sep="\t", index_col=0 if what != "sf" else None).to_numpy()

    return {
        name: (counts, lengths, {w: read(name, w) for w in ("sf", "plain_norm", "nf", "norm")})
        for name, (counts, lengths) in cases.items()
    }


CASES = ["geuvadis", "test_world", "zeros_and_halves", "dominant"]


@pytest.mark.parametrize("name", CASES)
def test_normalization_factors_with_tximport_lengths_match_deseq2(deseq2, name):
    if name not in deseq2:
        pytest.skip(f"{name} data not present")
    counts, lengths, ref = deseq2[name]
    rounded = np.rint(counts.to_numpy())
    factors = normalize.deseq2_normalization_factors(rounded, lengths.to_numpy())
    np.testing.assert_allclose(factors, ref["nf"], rtol=1e-8)
    np.testing.assert_allclose(
        normalize.deseq2_normalized_log(counts.to_numpy(), lengths.to_numpy()), np.log2(ref["norm"] + 1), rtol=1e-8, atol=1e-12
    )


@pytest.mark.parametrize("name", CASES)
def test_size_factors_without_lengths_match_deseq2(deseq2, name):
    if name not in deseq2:
        pytest.skip(f"{name} data not present")
    counts, _, ref = deseq2[name]
    rounded = np.rint(counts.to_numpy())
    np.testing.assert_allclose(normalize.deseq2_size_factors(rounded), ref["sf"].ravel(), rtol=1e-8)
    np.testing.assert_allclose(
        normalize.deseq2_normalized_log(counts.to_numpy()), np.log2(ref["plain_norm"] + 1), rtol=1e-8, atol=1e-12
    )


def test_rounding_is_half_to_even_like_r():
    assert list(np.rint([0.5, 1.5, 2.5, 3.5])) == [0, 2, 2, 4]


def test_size_factors_closed_form():
    """Columns that are exact multiples of one profile: the size factors are the multipliers over their geometric mean."""
    base = np.array([5.0, 17, 120, 3, 48])
    scale = np.array([1.0, 2, 4, 0.5])
    expected = scale / np.exp(np.log(scale).mean())
    np.testing.assert_allclose(normalize.deseq2_size_factors(np.outer(base, scale)), expected, rtol=1e-12)


def test_equal_lengths_reduce_to_plain_size_factors():
    """A gene-constant length matrix gives normMatrix = 1: the factors are the plain size factors over their geometric mean."""
    rng = np.random.default_rng(5)
    counts = rng.poisson(np.outer(rng.lognormal(3, 1, 100), rng.uniform(0.5, 2, 5))).astype(float) + 1
    lengths = np.repeat(rng.uniform(500, 3000, 100)[:, None], 5, axis=1)
    factors = normalize.deseq2_normalization_factors(counts, lengths)
    size_factors = normalize.deseq2_size_factors(counts)
    expected = size_factors / np.exp(np.log(size_factors).mean())
    np.testing.assert_allclose(factors, np.broadcast_to(expected, counts.shape), rtol=1e-12)


def test_every_gene_with_a_zero_is_a_clear_error():
    counts = np.array([[0.0, 5, 6], [3, 0, 4], [7, 8, 0]])
    with pytest.raises(InputError, match="every gene has a zero"):
        normalize.deseq2_size_factors(counts)
