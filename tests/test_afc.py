"""aFC-n effect sizes (magelib.finemap.afc): planted effects recovered, agreement with an independent lmfit fit
(estimates, stderr, conf_interval at 2σ), closed forms, covariate correction against statsmodels, bad input, the
output table and the chrX PAR filter."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import t as t_dist

from magelib.cli import InputError
from magelib.finemap import afc

GENES = {  # name: (log2 aFC per lead variant, c0, seed)
    "up": ((1.0,), 5.0, 11),
    "down": ((-0.5,), 3.0, 12),
    "two_variants": ((0.8, -0.4), 4.0, 13),
}


def simulate(s, c0, seed, n=500, sd=0.3, af=0.3):
    rng = np.random.default_rng(seed)
    k = len(s)
    h1 = (rng.random((n, k)) < af).astype(float)
    h2 = (rng.random((n, k)) < af).astype(float)
    y = afc.afc_model(np.asarray(s, dtype=float), c0, h1, h2) + rng.normal(0.0, sd, n)
    return y, h1, h2


def fit(y, h1, h2, **kwargs):
    return afc.fit_afc(y, h1, h2, gene_id="ENSG1", variant_ids=[f"v{j}" for j in range(h1.shape[1])], **kwargs)


def estimates(res):
    theta = np.array(res.log2_afc + (res.c0,))
    se = np.array(res.log2_afc_error + (res.c0_error,))
    return theta, se, np.array(res.log2_afc_interval + (res.c0_interval,))


def lmfit_reference(y, h1, h2, start):
    """The same model in lmfit (leastsq, bounded s, finite-difference Jacobian), with tight tolerances.

    epsfcn = machine epsilon (MINPACK's own default; lmfit sets 1e-10) so the forward-difference Jacobian behind the
    stderr is accurate to ~1e-8."""
    lmfit = pytest.importorskip("lmfit")
    k = h1.shape[1]
    names = [f"s{j}" for j in range(k)] + ["c0"]
    params = lmfit.Parameters()
    for j in range(k):
        params.add(names[j], value=start[j], min=-afc.LOG2_AFC_BOUND, max=afc.LOG2_AFC_BOUND)
    params.add("c0", value=start[k])

    def residual(p):
        s = np.array([p[name].value for name in names[:k]])
        return np.log2(2.0 ** (h1 @ s) + 2.0 ** (h2 @ s)) + p["c0"].value - y

    minimizer = lmfit.Minimizer(residual, params, xtol=1e-12, ftol=1e-12, epsfcn=np.finfo(float).eps)
    result = minimizer.minimize(method="leastsq")
    assert result.success
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = lmfit.conf_interval(minimizer, result, sigmas=[2])
    theta = np.array([result.params[name].value for name in names])
    se = np.array([result.params[name].stderr for name in names])
    return theta, se, np.array([[ci[name][0][1], ci[name][-1][1]] for name in names])


# --------------------------------------------------------------------------------------------------------------------
# aFC-n fit
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gene", GENES)
def test_planted_effects_recovered_and_covered(gene):
    s, c0, seed = GENES[gene]
    res = fit(*simulate(s, c0, seed))
    theta, se, limits = estimates(res)
    truth = np.array((*s, c0))
    assert res.interval == "profile" and res.sigma == 2.0 and res.n_samples == 500
    assert np.all(np.abs(theta - truth) < 4 * se), (theta, se)
    assert np.all((limits[:, 0] < truth) & (truth < limits[:, 1])), limits
    assert np.all((limits[:, 0] < theta) & (theta < limits[:, 1]))
    assert np.all(se < 0.06)


@pytest.mark.parametrize("gene", GENES)
def test_agrees_with_lmfit(gene):
    """Measured: |Δ log2_aFC|, |Δ c0| <= 1e-8; stderr relative <= 1e-7; interval ends <= 8e-6 absolute (lmfit's
    root finder stops at rtol 0.5e-4)."""
    y, h1, h2 = simulate(*GENES[gene])
    theta, se, limits = estimates(fit(y, h1, h2))
    ref_theta, ref_se, ref_limits = lmfit_reference(y, h1, h2, afc.initial_values(y, h1, h2))
    np.testing.assert_allclose(theta, ref_theta, rtol=0, atol=1e-6)
    np.testing.assert_allclose(se, ref_se, rtol=1e-6)
    np.testing.assert_allclose(limits, ref_limits, rtol=0, atol=1e-4)


def test_wald_interval_is_t_quantile_times_stderr_and_close_to_profile():
    y, h1, h2 = simulate(*GENES["two_variants"])
    theta, se, profile = estimates(fit(y, h1, h2))
    _, _, wald = estimates(fit(y, h1, h2, interval="wald"))
    q = t_dist.ppf((1 + math.erf(2 / math.sqrt(2))) / 2, y.size - theta.size)
    np.testing.assert_allclose(wald, np.column_stack([theta - q * se, theta + q * se]), rtol=1e-12)
    np.testing.assert_allclose(wald, profile, atol=0.02 * (profile[:, 1] - profile[:, 0]).min())


def test_noiseless_single_variant_fit_is_exact():
    y, h1, h2 = simulate((0.7,), 3.2, seed=5, n=200, sd=0.0)
    res = fit(y, h1, h2)
    assert res.log2_afc[0] == pytest.approx(0.7, abs=1e-10)
    assert res.c0 == pytest.approx(3.2, abs=1e-10)
    assert res.rss < 1e-20
    # closed form: hom-REF expresses 1 + c0, hom-ALT 1 + s + c0
    g = (h1 + h2)[:, 0]
    assert y[g == 2].mean() - y[g == 0].mean() == pytest.approx(res.log2_afc[0], abs=1e-10)


def test_zero_effect_reduces_to_one_plus_c0():
    _, h1, h2 = simulate((0.0,), 0.0, seed=6, n=100)
    np.testing.assert_allclose(afc.afc_model(np.zeros(1), 2.5, h1, h2), 3.5)
    res = fit(np.full(100, 3.5), h1, h2)
    assert res.log2_afc[0] == pytest.approx(0.0, abs=1e-10)
    assert res.c0 == pytest.approx(2.5, abs=1e-10)


def test_missing_haplotype_drops_sample_and_missing_expression_is_zero():
    y, h1, h2 = simulate(*GENES["up"])
    h1_missing = h1.copy()
    h1_missing[:10, 0] = np.nan
    assert fit(y, h1_missing, h2) == fit(y[10:], h1[10:], h2[10:])
    y_missing = y.copy()
    y_missing[:5] = np.nan
    y_zero = y.copy()
    y_zero[:5] = 0.0
    assert fit(y_missing, h1, h2) == fit(y_zero, h1, h2)


def test_monomorphic_variant_has_no_error_or_interval():
    y, h1, h2 = simulate((0.5,), 1.0, seed=7, n=100)
    res = fit(y, np.zeros_like(h1), np.zeros_like(h2))
    assert math.isnan(res.log2_afc_error[0]) and all(math.isnan(v) for v in res.log2_afc_interval[0])


def test_profile_limit_beyond_bound_is_infinite():
    y, h1, h2 = simulate((6.5,), 0.0, seed=7, n=60, sd=1.5)
    res = fit(y, h1, h2)
    assert res.log2_afc[0] <= afc.LOG2_AFC_BOUND
    assert res.log2_afc_interval[0][1] == math.inf and math.isfinite(res.log2_afc_interval[0][0])


def test_afc_table_columns_order_and_missing_genes():
    r1 = fit(*simulate(*GENES["two_variants"]))
    eqtls = pd.DataFrame(
        {
            "gene_id": ["ENSG0", "ENSG1", "ENSG1"],
            "variant_id": ["x", "v1", "v0"],
            "variant_chr": ["chr1", "chr2", "chr2"],
            "variant_pos": [10, 20, 30],
            "extra": [0, 0, 0],
        }
    )
    table = afc.afc_table(eqtls, [r1])
    assert list(table.columns) == list(afc.OUTPUT_COLUMNS)
    assert table["variant_id"].tolist() == ["x", "v1", "v0"]
    assert table.iloc[0, 4:].isna().all()
    assert table["log2_aFC"].tolist()[1:] == [r1.log2_afc[1], r1.log2_afc[0]]
    assert table["log2_aFC_plus_95_interv"].iloc[2] == r1.log2_afc_interval[0][1]
    assert (table["log2_aFC_c0"].iloc[1:] == r1.c0).all()
    assert (table["log2_aFC_c0_min_95_interv"].iloc[1:] == r1.c0_interval[0]).all()


# --------------------------------------------------------------------------------------------------------------------
# covariate correction
# --------------------------------------------------------------------------------------------------------------------


def covariate_world(seed=21, n=500):
    rng = np.random.default_rng(seed)
    g = rng.binomial(2, 0.4, size=(n, 2)).astype(float)
    g[:7, 0] = np.nan  # missing GT: left out of the fits
    cov = np.column_stack([rng.normal(size=n), rng.normal(size=n), rng.integers(0, 2, n)]).astype(float)
    effects = np.array([0.8, -0.5, 0.3])
    genotype_effect = 0.6 * (g[:, 0] == 2) - 0.4 * (g[:, 1] == 0)
    y = 6.0 + genotype_effect + cov @ effects + rng.normal(0.0, 0.5, n)
    return y, g, cov, effects


def null_covariate(y, design, rows, seed=22):
    """A covariate orthogonal to y and every other column on the fitted rows: its OLS coefficient is exactly 0."""
    z = np.random.default_rng(seed).normal(size=y.size)
    q, _ = np.linalg.qr(np.column_stack([design[rows], y[rows]]))
    z[rows] -= q @ (q.T @ z[rows])
    return z


def statsmodels_design(g, cov):
    columns = [np.ones(g.shape[0])]
    for j in range(g.shape[1]):
        for code in (0, 2):
            columns.append(np.where(np.isnan(g[:, j]), np.nan, (g[:, j] == code).astype(float)))
    return np.column_stack(columns + [cov])


def test_covariate_correction_matches_statsmodels_and_removes_planted_effects():
    y, g, cov, effects = covariate_world()
    rows = ~np.isnan(g).any(axis=1)
    z = null_covariate(y, statsmodels_design(g, cov), rows)
    covariates = np.column_stack([cov, z])
    names = ["pc1", "pc2", "sex", "null"]
    # the full OLS against statsmodels (drop rows with a missing value, as MAGE's formula call does)
    design = statsmodels_design(g, covariates)
    reference = sm.OLS(y, design, missing="drop").fit()
    ours = afc.ols(y[rows], design[rows])
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.conf_int(), reference.conf_int(), rtol=1e-10, atol=1e-12)
    assert ours.df_resid == reference.df_resid == rows.sum() - 9

    out = afc.correct_covariates(y, g, covariates, gene_id="ENSG1", variant_ids=["a", "b"], covariate_names=names)
    assert out.retained == ("pc1", "pc2", "sex") and out.n_fit == rows.sum()
    refit = sm.OLS(y, statsmodels_design(g, cov), missing="drop").fit()
    np.testing.assert_allclose(out.coefficients, refit.params[-3:], rtol=1e-10)
    np.testing.assert_allclose(out.corrected, y - cov @ refit.params[-3:], rtol=1e-12)
    se = refit.bse[-3:]
    assert np.all(np.abs(np.array(out.coefficients) - effects) < 4 * se)
    # corrected values keep intercept + genotype effect + noise only: no residual covariate association
    assert np.all(np.abs(np.corrcoef(np.column_stack([out.corrected[rows], cov[rows]]).T)[0, 1:]) < 0.05)


def test_null_covariate_leaves_phenotype_unchanged():
    y, g, cov, _ = covariate_world()
    rows = ~np.isnan(g).any(axis=1)
    z = null_covariate(y, statsmodels_design(g, np.empty((y.size, 0))), rows)
    out = afc.correct_covariates(y, g, z[:, None], gene_id="ENSG1")
    assert out.retained == () and out.coefficients == ()
    np.testing.assert_array_equal(out.corrected, y)


def test_genotype_indicators_only_for_present_classes():
    g = np.array([[0, 1], [1, 1], [1, 2], [np.nan, 1]], dtype=float)
    ind = afc.genotype_indicators(g, "ENSG1", ["a", "b"])
    expected = np.array([[1, 0], [0, 0], [0, 1], [np.nan, 0]], dtype=float)
    np.testing.assert_array_equal(ind, expected)  # a: hom-REF only; b: hom-ALT only


# --------------------------------------------------------------------------------------------------------------------
# bad input and chrX
# --------------------------------------------------------------------------------------------------------------------


def _afc_inputs(change):
    y, h1, h2 = simulate((0.5,), 2.0, seed=31, n=50)
    return change(y, h1, h2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda y, h1, h2: (y[:-1], h1, h2), "haplotype 1 matrix"),
        (lambda y, h1, h2: (y, h1, h2[:, :0]), "do not match"),
        (lambda y, h1, h2: (y, h1 * 2, h2), "variant v0: haplotypes must be 0"),
        (lambda y, h1, h2: (y, np.full_like(h1, np.nan), h2), "no sample"),
        (lambda y, h1, h2: (y[:0], h1[:0], h2[:0]), "non-empty"),
        (lambda y, h1, h2: (np.where(np.arange(50) == 3, np.inf, y), h1, h2), "infinite for sample 3"),
    ],
)
def test_fit_afc_bad_input(change, message):
    with pytest.raises(InputError, match=f"ENSG1.*{message}"):
        fit(*_afc_inputs(change))


def test_fit_afc_variant_count_mismatch():
    y, h1, h2 = _afc_inputs(lambda *a: a)
    with pytest.raises(InputError, match="ENSG9: 2 variant IDs for 1"):
        afc.fit_afc(y, h1, h2, gene_id="ENSG9", variant_ids=["a", "b"])


def _with_nan(matrix, row):
    out = matrix.copy()
    out[row, 0] = np.nan
    return out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda y, g, c: (y, g, _with_nan(c, 4)), "covariate cov0 is not finite for sample 4"),
        (lambda y, g, c: (y, g[:-1], c), "genotype matrix has shape"),
        (lambda y, g, c: (y, g, c[:-1]), "covariate matrix has shape"),
        (lambda y, g, c: (y, np.where(g == 2, 3.0, g), c), "variant variant0: ALT counts"),
        (lambda y, g, c: (y, np.full_like(g, np.nan), c), "no sample"),
    ],
)
def test_correct_covariates_bad_input(change, message):
    y, g, cov, _ = covariate_world(n=60)
    with pytest.raises(InputError, match=f"ENSG1: {message}|ENSG1, {message}"):
        afc.correct_covariates(*change(y, g, cov), gene_id="ENSG1")


def test_chrx_eligibility_requires_every_lead_variant_in_a_par():
    par1_start, par1_end = afc.GRCH38_PARS[0]
    par2_start, par2_end = afc.GRCH38_PARS[1]
    assert afc.chrx_gene_eligible(["chrX", "X"], [par1_start, par2_end])
    assert afc.chrx_gene_eligible(["chrX"], [par2_start])
    assert not afc.chrx_gene_eligible(["chrX", "chrX"], [par1_end, par1_end + 1])
    assert not afc.chrx_gene_eligible(["chrX"], [par1_start - 1])
    assert not afc.chrx_gene_eligible(["chr1"], [par1_start])
    assert not afc.chrx_gene_eligible([], [])
    assert afc.chrx_gene_eligible(["chrX"], [500], pars=[(1, 1000)])
    np.testing.assert_array_equal(afc.in_pars(["chrX"] * 3, [1, 10_001, 156_030_896]), [False, True, False])
