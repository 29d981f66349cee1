"""Storey q-values, BH and GTEx thresholds against R (qvalue 2.x, p.adjust, qbeta), run through Rscript.

Real p-values: every cis pair of a few GEUVADIS chr22 genes (cis_qtl.py nominal on the shared data), and
pval_beta-like p-values of a simulated permutation table. Edge cases: many p = 1, ties, few tests (fixed lambda
and BH), and the case R's smoother cannot handle (no p >= 0.95), where we fail with a clear message.
These tests fail, not skip, in CI when R is missing (require_tool).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from conftest import require_tool
from magelib.cli import InputError
from magelib.qvalue import bh, nominal_thresholds, qvalue, smooth_spline_df

R_QVALUE = """
suppressMessages(library(qvalue))
args <- commandArgs(TRUE)
p <- scan(args[1], quiet = TRUE)
lam <- if (args[3] == "default") seq(0.05, 0.95, 0.05) else as.numeric(args[3])
q <- qvalue(p, lambda = lam, lfdr.out = FALSE)
write(sprintf("%.17g", c(q$pi0, q$qvalues)), args[2], ncolumns = 1)
"""


def r_qvalue(p: np.ndarray, tmp_path, lam: float | None = None) -> tuple[np.ndarray, float]:
    require_tool("Rscript")
    (tmp_path / "qv.R").write_text(R_QVALUE)
    np.savetxt(tmp_path / "p.txt", p, fmt="%.17g")
    subprocess.run(
        [
            "Rscript",
            str(tmp_path / "qv.R"),
            str(tmp_path / "p.txt"),
            str(tmp_path / "q.txt"),
            "default" if lam is None else str(lam),
        ],
        check=True,
        capture_output=True,
    )
    out = np.loadtxt(tmp_path / "q.txt")
    return out[1:], float(out[0])


def r_eval(expression: str, tmp_path) -> np.ndarray:
    require_tool("Rscript")
    subprocess.run(["Rscript", "-e", f'write(sprintf("%.17g", {expression}), "{tmp_path}/r.txt", ncolumns = 1)'], check=True)
    return np.atleast_1d(np.loadtxt(tmp_path / "r.txt"))


@pytest.fixture(scope="module")
def geuvadis_pvalues(shared_data, tmp_path_factory):
    """All cis-pair p-values of the first 4 GEUVADIS chr22 genes (about 20,000; a real mixture of signal and null)."""
    from test_cis_engine import geuvadis_inputs

    from magelib import cis

    out = tmp_path_factory.mktemp("qvalue_real")
    args = dict(zip(*[iter(geuvadis_inputs(shared_data, out, slice(0, 4)))] * 2, strict=True))
    problem = cis.Problem(args["--genotypes"], args["--phenotypes"], args["--covariates"], None, (1, 1), cis.Settings())
    return np.concatenate([pairs["pval_nominal"].to_numpy() for _, pairs in cis.map_nominal(problem)])


def test_real_pvalues_match_r(geuvadis_pvalues, tmp_path):
    q, pi0 = qvalue(geuvadis_pvalues)
    q_r, pi0_r = r_qvalue(geuvadis_pvalues, tmp_path)
    assert 0 < pi0 < 1
    assert abs(pi0 - pi0_r) < 1e-6
    np.testing.assert_allclose(q, q_r, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_simulated_permutation_tables_match_r(seed, tmp_path):
    """Mixtures like a permutation table's pval_beta: uniform nulls plus Beta(0.1, 5) signals, various sizes."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(200, 20000))
    signal = int(m * rng.uniform(0.05, 0.8))
    p = np.r_[rng.uniform(size=m - signal), rng.beta(0.1, 5, size=signal)]
    q, pi0 = qvalue(p)
    q_r, pi0_r = r_qvalue(p, tmp_path)
    assert abs(pi0 - pi0_r) < 1e-6
    np.testing.assert_allclose(q, q_r, rtol=0, atol=1e-6)


def test_many_ones_and_ties(tmp_path):
    rng = np.random.default_rng(7)
    p = np.r_[np.ones(400), rng.uniform(size=300).round(2), rng.beta(0.2, 8, size=300)]
    q, pi0 = qvalue(p)
    q_r, pi0_r = r_qvalue(p, tmp_path)
    assert abs(pi0 - pi0_r) < 1e-6
    np.testing.assert_allclose(q, q_r, rtol=0, atol=1e-6)


def test_fixed_lambda_and_bh_with_few_tests(tmp_path):
    p = np.array([0.0001, 0.003, 0.02, 0.04, 0.2, 0.5, 0.8, 0.9])
    q, pi0 = qvalue(p, 0.5)
    q_r, pi0_r = r_qvalue(p, tmp_path, lam=0.5)
    assert pi0 == pytest.approx(pi0_r, abs=1e-12)
    np.testing.assert_allclose(q, q_r, atol=1e-12)
    np.testing.assert_allclose(bh(p), r_eval(f"p.adjust(c({','.join(map(str, p))}), 'BH')", tmp_path), atol=1e-12)


def test_smoother_undefined_without_large_pvalues():
    """R's pi0est breaks (NA from tabulate) when no p >= 0.95; we stop with a message pointing to the options."""
    with pytest.raises(InputError, match="fixed lambda or Benjamini-Hochberg"):
        qvalue(np.array([0.001, 0.01, 0.2, 0.5, 0.7, 0.9]))


def test_nan_kept_and_range_checked():
    q, _ = qvalue(np.r_[np.nan, np.linspace(0.001, 1, 200)])
    assert np.isnan(q[0]) and np.isfinite(q[1:]).all()
    with pytest.raises(InputError, match="outside"):
        bh(np.array([0.5, 1.2]))


def test_smooth_spline_matches_r(tmp_path):
    x = 0.05 + np.arange(19) * 0.05
    y = np.exp(-3 * x) + np.sin(9 * x) / 10
    ours = smooth_spline_df(x, y, 3.0)
    theirs = r_eval(
        f"predict(smooth.spline(seq(0.05, 0.95, 0.05), c({','.join(f'{v:.17g}' for v in y)}), df = 3), seq(0.05, 0.95, 0.05))$y",
        tmp_path,
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_gtex_thresholds_match_r_qbeta(tmp_path):
    pval_beta = np.array([1e-9, 1e-5, 0.001, 0.01, 0.03, 0.2, 0.6])
    qval = np.array([1e-8, 1e-4, 0.005, 0.03, 0.049, 0.3, 0.7])
    shape1 = np.array([1.0, 1.05, 0.98, 1.1, 1.02, 0.95, 1.0])
    shape2 = np.array([500.0, 800.0, 1200.0, 300.0, 650.0, 900.0, 40.0])
    thresholds, p_t = nominal_thresholds(pval_beta, qval, shape1, shape2, 0.05)
    assert p_t == pytest.approx((0.03 + 0.2) / 2)
    expected = r_eval(f"qbeta({float(p_t)!r}, c({','.join(map(str, shape1))}), c({','.join(map(str, shape2))}))", tmp_path)
    np.testing.assert_allclose(thresholds, expected, rtol=1e-10)
    none, p_none = nominal_thresholds(pval_beta, np.ones(7), shape1, shape2, 0.05)
    assert np.isnan(p_none) and np.isnan(none).all()
