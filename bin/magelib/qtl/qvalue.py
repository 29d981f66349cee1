"""Storey q-values as R ``qvalue`` 2.x computes them by default, Benjamini-Hochberg, and GTEx per-gene thresholds.

``qvalue(p)`` reproduces ``qvalue::qvalue(p)``: pi0(lambda) on lambda = 0.05, 0.10, ..., 0.95, smoothed by R's
``smooth.spline(lambda, pi0, df = 3)`` and read at the largest lambda (capped at 1); then
q = pi0 * cummin(p * m / rank) taken from the largest p down (``pfdr = FALSE``).

R's smoothing spline is reproduced step by step (``stats/src/sbart.c``, ``sslvrg.f``), because scipy's smoothing
splines use another parametrisation: the data are scaled to [0, 1], a cubic B-spline basis has a knot at every
x, the penalty is lambda = r * 256^(3 spar - 1) with r = tr(X'WX) / tr(Sigma) over the inner coefficients, and spar
is searched on [-1.5, 1.5] by R's Brent/golden-section routine (tol 1e-4, eps 2e-8) minimising
3 + (3 - trace(S))^2. Like R, the reported fit is the *last* one the search evaluated, not the best one.
The penalty keeps R's 0.3330 for 1/3 (sgram.f). The dense 21 x 21 algebra here replaces R's banded Cholesky; the
two agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.interpolate import BSpline
from scipy.special import betaincinv

from ..cli import InputError

DEFAULT_LAMBDAS = 0.05 + np.arange(19) * 0.05  # R: seq(0.05, 0.95, 0.05) is from + (0:n) * by
GOLDEN = 0.381966011250105151795413165634  # (3 - sqrt(5)) / 2, as in R's sbart.c


class SplineFit:
    """Dense pieces of R's smoothing-spline problem for fixed x (unit weights)."""

    def __init__(self, x: np.ndarray):
        x = np.asarray(x, dtype=float)
        self.xs = (x - x[0]) / (x[-1] - x[0])
        knots = np.r_[[self.xs[0]] * 3, self.xs, [self.xs[-1]] * 3]
        self.basis = BSpline.design_matrix(self.xs, knots, 3).toarray()
        # leverages: R evaluates the basis of the last point just inside the last knot (sslvrg.f, eps = 1e-11)
        lev_x = self.xs.copy()
        lev_x[-1] = knots[-4] - 1e-11
        self.lev_basis = BSpline.design_matrix(lev_x, knots, 3).toarray()
        self.xwx = self.basis.T @ self.basis
        self.sigma = _penalty_gram(knots)
        nk = self.basis.shape[1]
        self.ratio = np.trace(self.xwx[2 : nk - 3, 2 : nk - 3]) / np.trace(self.sigma[2 : nk - 3, 2 : nk - 3])

    def fit(self, y: np.ndarray, spar: float) -> tuple[np.ndarray, float]:
        """Fitted values at x and the trace of the smoother matrix for one spar."""
        lam = self.ratio * 16.0 ** (spar * 6.0 - 2.0)
        system = self.xwx + lam * self.sigma
        coef = np.linalg.solve(system, self.basis.T @ y)
        inverse = np.linalg.inv(system)
        leverage = np.einsum("ij,jk,ik->i", self.lev_basis, inverse, self.lev_basis)
        return self.basis @ coef, float(leverage.sum())


def _penalty_gram(knots: np.ndarray) -> np.ndarray:
    """Sigma[i, j] = integral of B_i''(t) B_j''(t) dt as R's sgram.f computes it.

    B'' is linear on each knot interval; with left value a and increment d the exact integral of a product is
    w * (a_i a_j + (d_i a_j + d_j a_i) / 2 + d_i d_j / 3), but R uses 0.3330 for 1/3, so we do too.
    """
    nk = len(knots) - 4
    second = BSpline(knots, np.eye(nk), 3).derivative(2)
    sigma = np.zeros((nk, nk))
    for left, right in zip(knots[:-1], knots[1:], strict=True):
        width = right - left
        if width <= 0:
            continue
        start = second(left)
        increment = 2 * (second((left + right) / 2) - start)  # B'' is linear on the interval
        sigma += width * (
            np.outer(start, start)
            + (np.outer(increment, start) + np.outer(start, increment)) * 0.5
            + np.outer(increment, increment) * 0.3330
        )
    return sigma


def smooth_spline_df(x: np.ndarray, y: np.ndarray, df: float = 3.0) -> np.ndarray:
    """Fitted values of R ``smooth.spline(x, y, df = df)`` at x (x strictly increasing, unit weights)."""
    spline = SplineFit(x)
    y = np.asarray(y, dtype=float)
    tol, eps, maxit = 1e-4, 2e-8, 500

    def crit(spar: float) -> tuple[float, np.ndarray]:
        fitted, trace = spline.fit(y, spar)
        return 3.0 + (df - trace) ** 2, fitted

    # R's sbart.c: Brent's fmin on [-1.5, 1.5], golden section plus parabolic interpolation
    a, b = -1.5, 1.5
    v = w = x_ = a + GOLDEN * (b - a)
    fx, last = crit(x_)
    fv = fw = fx
    d = e = 0.0
    for _ in range(maxit + 1):
        xm = (a + b) / 2
        tol1 = eps * abs(x_) + tol / 3
        tol2 = 2 * tol1
        if abs(x_ - xm) <= tol2 - (b - a) / 2:
            break
        golden = abs(e) <= tol1
        if not golden:
            r = (x_ - w) * (fx - fv)
            q = (x_ - v) * (fx - fw)
            p = (x_ - v) * q - (x_ - w) * r
            q = 2 * (q - r)
            if q > 0:
                p = -p
            q = abs(q)
            r, e = e, d
            if abs(p) >= abs(0.5 * q * r) or q == 0 or p <= q * (a - x_) or p >= q * (b - x_):
                golden = True
            else:
                d = p / q
                u = x_ + d
                if u - a < tol2 or b - u < tol2:
                    d = tol1 if xm - x_ >= 0 else -tol1
        if golden:
            e = (a - x_) if x_ >= xm else (b - x_)
            d = GOLDEN * e
        u = x_ + (d if abs(d) >= tol1 else (tol1 if d >= 0 else -tol1))
        fu, last = crit(u)
        if fu <= fx:
            if u >= x_:
                a = x_
            else:
                b = x_
            v, fv, w, fw, x_, fx = w, fw, x_, fx, u, fu
        else:
            if u < x_:
                a = u
            else:
                b = u
            if fu <= fw or w == x_:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x_ or v == w:
                v, fv = u, fu
    return last


def pi0_estimate(p: np.ndarray, lambdas: np.ndarray | float | None = None) -> float:
    """pi0 as ``qvalue::pi0est`` (smoother method); a single lambda gives the fixed-lambda estimate."""
    p = np.asarray(p, dtype=float)
    if lambdas is None:
        lambdas = DEFAULT_LAMBDAS
    lambdas = np.sort(np.atleast_1d(np.asarray(lambdas, dtype=float)))
    if lambdas.min() < 0 or lambdas.max() >= 1:
        raise InputError(f"q-value lambda must be within [0, 1), got {lambdas.tolist()}")
    if len(lambdas) == 1:
        pi0 = min(np.mean(p >= lambdas[0]) / (1 - lambdas[0]), 1.0)
    else:
        if len(lambdas) < 4:
            raise InputError("q-values need one lambda or at least four")
        bins = np.searchsorted(lambdas, p, side="right")  # R findInterval
        counts = np.bincount(bins, minlength=len(lambdas) + 1)[1:]
        if p.max() < lambdas[-1]:
            # R's tabulate() then returns fewer bins and pi0est fails; say so instead
            raise InputError(
                f"no p-value >= {lambdas[-1]:g} among {len(p)}: the smoothed pi0 estimate is undefined "
                "(too few tests); use a fixed lambda or Benjamini-Hochberg"
            )
        tail = np.cumsum(counts[::-1])[::-1]
        pi0_lambda = tail / (len(p) * (1 - lambdas))
        pi0 = min(smooth_spline_df(lambdas, pi0_lambda, 3.0)[-1], 1.0)
    if pi0 <= 0:
        raise InputError("the estimated pi0 <= 0: check the p-values or use a fixed lambda or Benjamini-Hochberg")
    return float(pi0)


def qvalue(p: np.ndarray, lambdas: np.ndarray | float | None = None) -> tuple[np.ndarray, float]:
    """Storey q-values and pi0 as R ``qvalue(p)`` (or ``qvalue(p, lambda = x)``); NaN p-values stay NaN."""
    p = np.asarray(p, dtype=float)
    keep = ~np.isnan(p)
    values = p[keep]
    _check_range(values)
    pi0 = pi0_estimate(values, lambdas)
    q = np.full(p.shape, np.nan)
    q[keep] = pi0 * _step_up(values)
    return q, pi0


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (R ``p.adjust(p, 'BH')``); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    keep = ~np.isnan(p)
    _check_range(p[keep])
    q = np.full(p.shape, np.nan)
    q[keep] = _step_up(p[keep])
    return q


def _step_up(p: np.ndarray) -> np.ndarray:
    """min(1, cummin over decreasing p of p * m / rank), returned in input order."""
    m = len(p)
    order = np.argsort(-p, kind="stable")
    ranks = np.arange(m, 0, -1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(p[order] * m / ranks))
    out = np.empty(m)
    out[order] = adjusted
    return out


def _check_range(p: np.ndarray) -> None:
    if len(p) == 0:
        raise InputError("no p-values to adjust")
    if p.min() < 0 or p.max() > 1:
        raise InputError(f"p-values outside [0, 1] (min {p.min():g}, max {p.max():g})")


def nominal_thresholds(pval_beta: np.ndarray, qval: np.ndarray, shape1: np.ndarray, shape2: np.ndarray, fdr: float):
    """GTEx per-gene nominal thresholds: BetaQuantile(p_t; shape1, shape2).

    p_t is the midpoint between the largest pval_beta with q <= fdr and the smallest with q > fdr (only the
    former when every gene passes). Returns (thresholds, p_t); all NaN when no gene passes.
    """
    pval_beta = np.asarray(pval_beta, dtype=float)
    qval = np.asarray(qval, dtype=float)
    passed = pval_beta[qval <= fdr]
    failed = pval_beta[qval > fdr]
    if len(passed) == 0:
        return np.full(pval_beta.shape, np.nan), float("nan")
    p_t = (passed.max() + failed.min()) / 2 if len(failed) else float(passed.max())
    return betaincinv(np.asarray(shape1, float), np.asarray(shape2, float), p_t), p_t


def annotate(
    table: pd.DataFrame, fdr: float = 0.05, method: str = "qvalue", lam: float | None = None, by: str | None = None
) -> dict:
    """Add ``qval`` and ``pval_nominal_threshold`` to a permutation table (in place) over all phenotypes at once,
    or within each value of column ``by`` (e.g. per chromosome, as MAGE's per-chromosome FastQTL runs did).

    Rows without pval_beta (no cis variant) get NA. Returns a summary per scope: tested, pi0, p_t, significant.
    """
    table["qval"] = np.nan
    table["pval_nominal_threshold"] = np.nan
    scopes = [(None, table.index)] if by is None else list(table.groupby(by, sort=False).groups.items())
    summary = {}
    for name, index in scopes:
        part = table.loc[index]
        tested = part.index[part["pval_beta"].notna()]
        if len(tested) == 0:
            continue
        p = table.loc[tested, "pval_beta"].to_numpy(dtype=float)
        if method == "bh":
            q, pi0 = bh(p), 1.0
        else:
            q, pi0 = qvalue(p, lam)
        table.loc[tested, "qval"] = q
        thresholds, p_t = nominal_thresholds(p, q, table.loc[tested, "beta_shape1"], table.loc[tested, "beta_shape2"], fdr)
        table.loc[tested, "pval_nominal_threshold"] = thresholds
        summary["all" if name is None else str(name)] = {
            "tested": len(tested),
            "pi0": pi0,
            "p_threshold": p_t,
            "significant": int(np.sum(q <= fdr)),
        }
    return summary
