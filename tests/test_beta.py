"""The beta approximation: F-test p-values against R's pf, the learned df by its defining equation, the Beta MLE
against scipy's own fitter and R's optim, and FastQTL's rules for few variants."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import scipy.stats as ss
from scipy.special import digamma

from conftest import require_tool
from magelib.qtl import beta


def test_pvalue_from_r_equals_r_pf(tmp_path):
    require_tool("Rscript")
    r = np.array([0.001, 0.05, 0.2, 0.45, 0.8, 0.97])
    df = 303.0
    expression = f"pf({df} * r^2 / (1 - r^2), 1, {df}, lower.tail = FALSE)"
    out = subprocess.run(
        ["Rscript", "-e", f"r <- c({','.join(map(str, r))}); cat(sprintf('%.17g', {expression}), sep = '\\n')"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    np.testing.assert_allclose(beta.pvalue_from_r(r, df), np.array(out.split(), dtype=float), rtol=1e-12)


def null_max_r(n_samples: int, n_variants: int, n_perm: int, seed: int) -> np.ndarray:
    """max |r| of a phenotype against independent variants: the null of the permutation statistic."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n_variants, n_samples))
    g = (g - g.mean(1, keepdims=True)) / np.linalg.norm(g - g.mean(1, keepdims=True), axis=1, keepdims=True)
    y = rng.standard_normal((n_perm, n_samples))
    y = (y - y.mean(1, keepdims=True)) / np.linalg.norm(y - y.mean(1, keepdims=True), axis=1, keepdims=True)
    return np.abs(g @ y.T).max(axis=0)


def test_learned_df_solves_its_equation():
    r_perm = null_max_r(200, 50, 2000, seed=1)
    df = beta.learn_df(r_perm, 198.0)
    shape1, _ = beta.moments(beta.pvalue_from_r(r_perm, df))
    assert shape1 == pytest.approx(1.0, abs=1e-8)


def test_mle_matches_scipy_and_r(tmp_path):
    rng = np.random.default_rng(2)
    p = rng.beta(1.05, 300.0, size=3000)
    a0, b0 = beta.moments(p)
    a, b = beta.mle_beta(p, a0, b0)
    a_s, b_s, _, _ = ss.beta.fit(p, floc=0, fscale=1)
    assert a == pytest.approx(a_s, rel=1e-3) and b == pytest.approx(b_s, rel=1e-3)
    # the score equations hold at our estimate (closed form)
    assert digamma(a) - digamma(a + b) == pytest.approx(np.log(p).mean(), rel=1e-9)
    assert digamma(b) - digamma(a + b) == pytest.approx(np.log1p(-p).mean(), rel=1e-9)
    require_tool("Rscript")
    np.savetxt(tmp_path / "p.txt", p, fmt="%.17g")
    script = (
        f"p <- scan('{tmp_path}/p.txt', quiet = TRUE); "
        "nll <- function(s) -sum(dbeta(p, s[1], s[2], log = TRUE)); "
        f"o <- optim(c({a0}, {b0}), nll, method = 'L-BFGS-B', lower = c(1e-3, 1e-3), control = list(factr = 1e3)); "
        "cat(sprintf('%.17g', o$par))"
    )
    out = subprocess.run(["Rscript", "-e", script], check=True, capture_output=True, text=True).stdout.split()
    assert a == pytest.approx(float(out[0]), rel=1e-4) and b == pytest.approx(float(out[1]), rel=1e-4)


def test_beta_approximation_is_calibrated_under_the_null():
    """Under the null, pval_beta of a fresh observation is uniform: P(pval_beta < 0.05) close to 0.05."""
    r_perm = null_max_r(150, 30, 1000, seed=3)
    fresh = null_max_r(150, 30, 4000, seed=4)
    fit = beta.beta_approximation(r_perm, 0.0, 148.0, 30)
    p_true = beta.pvalue_from_r(fresh, fit["true_df"])
    pval_beta = ss.beta.cdf(p_true, fit["beta_shape1"], fit["beta_shape2"])
    assert abs(np.mean(pval_beta < 0.05) - 0.05) < 0.015
    assert abs(np.mean(pval_beta < 0.5) - 0.5) < 0.04


def test_fastqtl_rules_for_few_variants():
    r_perm = null_max_r(100, 5, 500, seed=5)
    one = beta.beta_approximation(r_perm, 0.3, 98.0, 1)
    assert one["beta_shape1"] == 1.0 and one["beta_shape2"] == 1.0  # one variant: no fit
    few = beta.beta_approximation(r_perm, 0.3, 98.0, 5)
    mom = beta.moments(beta.pvalue_from_r(r_perm, few["true_df"]))
    assert few["beta_shape1"] == pytest.approx(mom[0]) and few["beta_shape2"] == pytest.approx(mom[1])  # <= 10: moments
    many = beta.beta_approximation(r_perm, 0.3, 98.0, 11)
    assert many["beta_shape1"] != pytest.approx(mom[0])  # > 10 variants: maximum likelihood
    flat = beta.beta_approximation(np.full(50, 0.2), 0.3, 98.0, 20)
    assert flat["true_df"] == 98.0  # constant permutations: df not learned (FastQTL)
    assert few["pval_beta"] == pytest.approx(ss.beta.cdf(few["pval_true_df"], few["beta_shape1"], few["beta_shape2"]))
