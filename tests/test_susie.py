"""magelib.finemap.susie against R susieR (individual-level and summary-statistic modes), a planted signal,
the closed-form single-effect regression, and input checks."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import run_r
from magelib.cli import InputError
from magelib.finemap.susie import lead_index, susie, susie_rss

GEUVADIS = "qtltools-example_geuvadis-chr22"
# Strong cis-eQTLs on chr22 with 5 / 2 / 2 credible sets in individual mode (3 / 1 / 2 in rss mode), small but
# non-zero prior variances on the remaining effects (ENSG00000260065) and large sets (66 and 45 variables).
GENES = ("ENSG00000184674.8", "ENSG00000260065.1", "ENSG00000100266.13")
WINDOW = 1_000_000
MAX_VARIANTS = 1500
MODES = ("susie", "susie_rss")

R_SCRIPT = r"""
suppressMessages(library(susieR))
for (g in readLines("genes.txt")) {
  d <- scan(file.path(g, "dims.txt"), quiet = TRUE); n <- d[1]; p <- d[2]
  rd <- function(f, k) readBin(file.path(g, f), "double", k)
  X <- matrix(rd("X.bin", n * p), n, p); y <- rd("y.bin", n); z <- rd("z.bin", p); R <- matrix(rd("R.bin", p * p), p, p)
  # n_purity larger than any set, so susieR computes purity on every variable (no random subsample)
  fits <- list(susie = susie(X, y, L = 10, n_purity = 1e5),
               susie_rss = suppressMessages(susie_rss(z, R, n = n, var_y = var(y), L = 10,
                                                      estimate_residual_variance = TRUE, n_purity = 1e5)))
  for (m in names(fits)) {
    f <- fits[[m]]
    out <- function(x, name) writeBin(as.double(x), file.path(g, paste0(m, "_", name, ".bin")))
    out(t(f$alpha), "alpha"); out(t(f$lbf_variable), "lbf_variable"); out(f$pip, "pip"); out(f$V, "V")
    out(f$sigma2, "sigma2"); out(f$lbf, "lbf"); out(f$elbo, "elbo")
    s <- f$sets; lines <- character(0)
    if (!is.null(s$cs)) for (i in seq_along(s$cs))
      lines <- c(lines, paste(s$cs_index[i] - 1, sprintf("%.17g", s$coverage[i]),
                              paste(sprintf("%.17g", unlist(s$purity[i, ])), collapse = ","),
                              paste(s$cs[[i]] - 1, collapse = ","), sep = "\t"))
    writeLines(lines, file.path(g, paste0(m, "_cs.tsv")))
  }
}
"""


def inverse_normal(x: np.ndarray) -> np.ndarray:
    from scipy.stats import norm, rankdata

    return norm.ppf((rankdata(x) - 0.5) / x.size)


def load_gene(folder: Path, gene: str) -> dict:
    """y (inverse-normal expression) and X (dosages, MAF >= 0.01, the MAX_VARIANTS variants nearest the TSS within
    +-1 Mb), both residualised on [1, covariates] by OLS; z = marginal OLS t-statistics, R = corr(X)."""
    import pandas as pd
    from cyvcf2 import VCF

    bed = pd.read_csv(folder / "genes.50percent.chr22.bed.gz", sep="\t")
    row = bed[bed["gene"] == gene].iloc[0]
    samples = list(bed.columns[6:])
    cov = pd.read_csv(folder / "genes.covariates.pc50.txt.gz", sep=" ", index_col=0)[samples]
    vcf = VCF(str(folder / "genotypes.chr22.vcf.gz"))
    assert list(vcf.samples) == samples
    tss = int(row["start"]) + 1
    pos, dosage = [], []
    for v in vcf(f"{row['#chr']}:{max(1, tss - WINDOW)}-{tss + WINDOW}"):
        gt = v.genotype.array()[:, :2]
        assert (gt >= 0).all()
        pos.append(v.POS)
        dosage.append(gt.sum(axis=1))
    pos, G = np.array(pos), np.array(dosage, dtype=float).T
    af = G.mean(axis=0) / 2
    keep = np.flatnonzero((np.abs(pos - tss) <= WINDOW) & (np.minimum(af, 1 - af) >= 0.01))
    keep = np.sort(keep[np.argsort(np.abs(pos[keep] - tss), kind="stable")[:MAX_VARIANTS]])
    C = np.column_stack([np.ones(len(samples)), cov.T.to_numpy(float)])
    Q, _ = np.linalg.qr(C)
    y = inverse_normal(row.iloc[6:].to_numpy(float))
    y = y - Q @ (Q.T @ y)
    X = G[:, keep] - Q @ (Q.T @ G[:, keep])
    r = X.T @ y / np.sqrt(np.sum(X**2, axis=0) * np.sum(y**2))
    df = len(y) - C.shape[1] - 1  # n - 2 - covariates
    return {"X": X, "y": y, "z": r * np.sqrt(df / (1 - r**2)), "R": np.corrcoef(X, rowvar=False)}


@pytest.fixture(scope="module")
def geuvadis(shared_data, tmp_path_factory):
    """The three genes' inputs and susieR's fits of them in both modes (one Rscript run)."""
    work = tmp_path_factory.mktemp("susie_r")
    data = {}
    for gene in GENES:
        d = data[gene] = load_gene(shared_data / GEUVADIS, gene)
        (work / gene).mkdir()
        np.savetxt(work / gene / "dims.txt", d["X"].shape, fmt="%d")
        for key in ("X", "y", "z", "R"):
            d[key].T.tofile(work / gene / f"{key}.bin")  # column-major, as R's matrix() fills
    (work / "genes.txt").write_text("\n".join(GENES) + "\n")
    run_r(R_SCRIPT, work, "susieR")
    return data, work


def read_r_fit(folder: Path, mode: str, L: int, p: int) -> dict:
    rd = lambda name: np.fromfile(folder / f"{mode}_{name}.bin")  # noqa: E731
    sets = []
    for line in (folder / f"{mode}_cs.tsv").read_text().splitlines():
        effect, coverage, purity, variables = line.split("\t")
        sets.append((int(effect), [int(i) for i in variables.split(",")], float(coverage), [float(v) for v in purity.split(",")]))
    return {
        "alpha": rd("alpha").reshape(L, p), "lbf_variable": rd("lbf_variable").reshape(L, p), "pip": rd("pip"),
        "V": rd("V"), "sigma2": rd("sigma2")[0], "lbf": rd("lbf"), "elbo": rd("elbo"), "sets": sets,
    }  # fmt: skip


@pytest.mark.shared
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("gene", GENES)
def test_matches_susieR_on_geuvadis(geuvadis, gene, mode):
    data, work = geuvadis
    d = data[gene]
    if mode == "susie":
        fit = susie(d["X"], d["y"], L=10)
    else:
        fit = susie_rss(d["z"], d["R"], len(d["y"]), L=10, estimate_residual_variance=True)
    ref = read_r_fit(work / gene, mode, *fit.alpha.shape)
    assert np.max(np.abs(fit.pip - ref["pip"])) <= 1e-6
    np.testing.assert_allclose(fit.alpha, ref["alpha"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.lbf_variable, ref["lbf_variable"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fit.V, ref["V"], rtol=1e-5, atol=1e-8)
    assert fit.sigma2 == pytest.approx(ref["sigma2"], rel=1e-8)
    assert fit.elbo.shape == ref["elbo"].shape and fit.converged
    np.testing.assert_allclose(fit.elbo, ref["elbo"], rtol=0, atol=1e-5)
    assert [(s.effect, s.variables.tolist()) for s in fit.sets] == [(e, v) for e, v, _, _ in ref["sets"]]
    assert len(fit.sets) >= 1
    for s, (_, _, coverage, purity) in zip(fit.sets, ref["sets"], strict=True):
        assert s.coverage == pytest.approx(coverage, abs=1e-6)
        np.testing.assert_allclose(s.purity, purity, rtol=0, atol=1e-6)


def planted(seed: int = 7, n: int = 400, p: int = 150):
    """Genotypes from two AR(1) (rho 0.95) haplotypes, so neighbours are in LD, and two causal variants."""
    rng = np.random.default_rng(seed)

    def haplotype():
        h = np.empty((n, p))
        h[:, 0] = rng.standard_normal(n)
        for j in range(1, p):
            h[:, j] = 0.95 * h[:, j - 1] + math.sqrt(1 - 0.95**2) * rng.standard_normal(n)
        return h > 0.8

    X = (haplotype().astype(float) + haplotype()).astype(float)
    causal = (p // 5, 2 * p // 3)
    y = 0.6 * X[:, causal[0]] - 0.5 * X[:, causal[1]] + rng.standard_normal(n)
    return X, y, causal


def marginal_z(X, y):
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    r = Xc.T @ yc / np.sqrt(np.sum(Xc**2, axis=0) * np.sum(yc**2))
    return r * np.sqrt((len(y) - 2) / (1 - r**2))


def test_planted_signals_are_in_credible_sets():
    X, y, causal = planted()
    fits = {
        "susie": susie(X, y),
        "susie_rss": susie_rss(marginal_z(X, y), np.corrcoef(X, rowvar=False), len(y), estimate_residual_variance=True),
    }
    for mode, fit in fits.items():
        assert fit.converged, mode
        assert len(fit.sets) == 2, mode
        found = sorted(c for c in causal for s in fit.sets if c in s.variables)
        assert found == list(causal), mode
        for s in fit.sets:
            assert s.coverage >= 0.95 and s.purity[0] >= 0.5
            assert lead_index(fit.pip, s.variables) in s.variables
        kept = fit.alpha[fit.V > 1e-9]
        np.testing.assert_allclose(fit.pip, 1 - np.prod(1 - kept, axis=0))
        assert np.sum(fit.V > 0) < len(fit.V)  # the unused effects were switched off (V = 0)


def closed_form_alpha(xtx, xty, V, sigma2):
    """Wakefield ABF as SuSiE's single-effect regression: lbf = log sqrt(s2 / (V + s2)) + z^2/2 V / (V + s2)."""
    bhat, s2 = xty / xtx, sigma2 / xtx
    z2 = bhat**2 / s2
    lbf = np.log(np.sqrt(s2 / (V + s2))) + z2 / 2 * V / (V + s2)
    w = np.exp(lbf - lbf.max())
    return w / w.sum(), lbf


def test_single_effect_is_softmax_of_closed_form_lbf():
    X, y, _ = planted(seed=11, n=300, p=60)
    n, sigma2, spv = len(y), 0.9, 0.1
    fixed = {"L": 1, "estimate_prior_variance": False, "residual_variance": sigma2, "scaled_prior_variance": spv}
    fit = susie(X, y, estimate_residual_variance=False, **fixed)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    V = spv * np.var(y, ddof=1)
    alpha, lbf = closed_form_alpha(np.sum(Xs**2, axis=0), Xs.T @ (y - y.mean()), V, sigma2)
    assert fit.V[0] == pytest.approx(V) and fit.sigma2 == sigma2
    np.testing.assert_allclose(fit.lbf_variable[0], lbf, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fit.alpha[0], alpha, rtol=1e-10, atol=1e-14)
    # rss mode: X'X = (n-1) R, X'y = sqrt(n-1) z~ with z~ = z sqrt((n-1) / (z^2 + n - 2)), prior variance 0.1 * 1
    z = marginal_z(X, y)
    fit = susie_rss(z, np.corrcoef(X, rowvar=False), n, **fixed)
    z_adj = z * np.sqrt((n - 1) / (z**2 + n - 2))
    alpha, lbf = closed_form_alpha(np.full(z.size, n - 1.0), math.sqrt(n - 1) * z_adj, spv, sigma2)
    np.testing.assert_allclose(fit.lbf_variable[0], lbf, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fit.alpha[0], alpha, rtol=1e-10, atol=1e-14)


def test_lead_index_takes_highest_pip_then_smaller_index():
    pip = np.array([0.9, 0.4, 0.4, 0.1, 0.3])
    assert lead_index(pip, [3, 2, 1]) == 1
    assert lead_index(pip, [4, 3]) == 4
    with pytest.raises(InputError):
        lead_index(pip, [])


def test_fit_is_frozen():
    X, y, _ = planted(seed=3, n=120, p=20)
    fit = susie(X, y, L=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.sigma2 = 1.0
    with pytest.raises(ValueError):
        fit.pip[0] = 1.0


X_OK = np.random.default_rng(0).standard_normal((20, 5))
Y_OK = X_OK[:, 0] + np.random.default_rng(1).standard_normal(20)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: susie(np.where(np.eye(20, 5) > 0, np.nan, X_OK), Y_OK), "X has 5 non-finite"),
        (lambda: susie(X_OK, np.r_[Y_OK[:-1], np.inf]), "y has 1 non-finite"),
        (lambda: susie(X_OK[:1], Y_OK[:1]), "at least 2 rows"),
        (lambda: susie(X_OK, Y_OK[:-1]), "y has 19 values but X has 20 rows"),
        (lambda: susie(X_OK[:, 0], Y_OK), "X must be 2-dimensional"),
        (lambda: susie(X_OK, np.ones(20)), "y is constant"),
        (lambda: susie(X_OK, Y_OK, L=0), "L must be a positive integer"),
        (lambda: susie(X_OK, Y_OK, coverage=1.0), "coverage must be in"),
        (lambda: susie(X_OK, Y_OK, coverage=0.0), "coverage must be in"),
        (lambda: susie(X_OK, Y_OK, residual_variance=-1.0), "residual variance must be positive"),
        (lambda: susie_rss(np.ones(5), np.eye(4), 100), "R is 4 x 4 but z has 5"),
        (lambda: susie_rss(np.ones(5), np.eye(5), 1), "n must be greater than 1"),
        (lambda: susie_rss(np.r_[np.nan, np.ones(4)], np.eye(5), 100), "z has 1 non-finite"),
        (lambda: susie_rss(np.ones(5), np.eye(5), 100, L=2.5), "L must be a positive integer"),
        (lambda: susie_rss(np.ones(5), np.eye(5), "many"), "n is not numeric"),
        (lambda: susie(X_OK, Y_OK, max_iter=None), "max_iter must be a positive integer"),
    ],
)
def test_bad_input_raises_input_error(call, message):
    with pytest.raises(InputError, match=message):
        call()
