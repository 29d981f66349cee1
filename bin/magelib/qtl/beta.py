"""Beta approximation of permutation p-values (FastQTL, Ongen et al. 2016), with FastQTL's learned degrees of freedom.

For one phenotype, the permutations give the best |r| of each shuffle. FastQTL:
1. learns the effective df ("true_df"): the df at which the permuted p-values' method-of-moments Beta shape1 is 1
   (FastQTL minimises |shape1 - 1| with 20 Nelder-Mead steps from N - 2 - k; we solve shape1(df) = 1 by bracketing
   and Brent's method, which is where that search converges, and fall back to minimising |shape1 - 1|);
2. fits Beta(shape1, shape2) to the permuted p-values at true_df: method of moments (variance with N - 1), then
   maximum likelihood when more than 10 variants are in cis (p = 1 replaced by 0.99999999, as FastQTL); the
   log-likelihood is concave in (shape1, shape2), so Newton's method from the moment estimate finds the maximum
   that FastQTL's Nelder-Mead approaches;
3. pval_beta = BetaCDF(p(best r at true_df); shape1, shape2).

p-values of a correlation r with df degrees of freedom: P(F(1, df) > df r^2 / (1 - r^2)) = I_{1 - r^2}(df / 2, 1 / 2).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import betainc, betaln, digamma, polygamma


def pvalue_from_r(r: np.ndarray | float, df: float) -> np.ndarray:
    """Two-sided p-value of Pearson r (on residuals) with df degrees of freedom (FastQTL getPvalue)."""
    r2 = np.minimum(np.square(np.asarray(r, dtype=float)), 1.0)
    return betainc(df / 2.0, 0.5, 1.0 - r2)


def moments(p: np.ndarray) -> tuple[float, float]:
    """Method-of-moments Beta shapes (FastQTL: variance with N - 1)."""
    mean = float(np.mean(p))
    var = float(np.var(p, ddof=1))
    if not var > 0:
        return float("nan"), float("nan")
    shape1 = mean * (mean * (1 - mean) / var - 1)
    return shape1, shape1 * (1 / mean - 1)


def learn_df(r_perm: np.ndarray, df0: float) -> float:
    """The df at which the moment shape1 of the permuted p-values equals 1 (FastQTL learnDF)."""

    @functools.cache  # brentq re-evaluates the bracket ends found below
    def excess(log_df: float) -> float:
        return moments(pvalue_from_r(r_perm, math.exp(log_df)))[0] - 1.0

    start = math.log(df0)
    f0 = excess(start)
    if f0 == 0 or not math.isfinite(f0):
        return df0
    # bracket the root nearest to df0, widening by factors of 2 on both sides
    below = above = (start, f0)
    for k in range(1, 13):
        # below first: the learned df is nearly always below N - 2 - k (0.75-0.96 of it on GEUVADIS)
        for side, (x_prev, f_prev) in (("below", below), ("above", above)):
            x = start + k * math.log(2.0) * (1 if side == "above" else -1)
            fx = excess(x)
            if math.isfinite(fx) and np.sign(fx) != np.sign(f_prev):
                a, b = sorted((x_prev, x))
                return math.exp(brentq(excess, a, b, xtol=1e-10, rtol=1e-12))
            if side == "above":
                above = (x, fx)
            else:
                below = (x, fx)
    # no sign change in [df0 / 4096, 4096 df0]: minimise |shape1 - 1| instead (FastQTL's objective)
    found = minimize_scalar(lambda x: abs(excess(x)), bounds=(start - 3, start + 3), method="bounded")
    return math.exp(found.x)


def mle_beta(p: np.ndarray, shape1: float, shape2: float) -> tuple[float, float]:
    """Maximum-likelihood Beta shapes from a starting point (Newton on the concave log-likelihood)."""
    p = np.where(p == 1.0, 0.99999999, p)
    p = np.clip(p, np.finfo(float).tiny, None)
    n = len(p)
    s1, s2 = float(np.sum(np.log(p))), float(np.sum(np.log1p(-p)))

    def loglik(a: float, b: float) -> float:
        return (a - 1) * s1 + (b - 1) * s2 - n * betaln(a, b)

    a, b = shape1, shape2
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        return shape1, shape2
    current = loglik(a, b)
    for _ in range(100):
        dab = digamma(a + b)
        grad = np.array([s1 - n * (digamma(a) - dab), s2 - n * (digamma(b) - dab)])
        tab = polygamma(1, a + b)
        hess = -n * np.array([[polygamma(1, a) - tab, -tab], [-tab, polygamma(1, b) - tab]])
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            break
        scale = 1.0
        while scale > 1e-12:
            na, nb = a + scale * step[0], b + scale * step[1]
            if na > 0 and nb > 0:
                value = loglik(na, nb)
                if value >= current:
                    break
            scale /= 2
        else:
            break
        converged = abs(na - a) <= 1e-12 * a and abs(nb - b) <= 1e-12 * b
        a, b, current = na, nb, value
        if converged:
            break
    return a, b


def beta_approximation(r_perm: np.ndarray, r_best: float, df0: float, num_var: int) -> dict[str, float]:
    """true_df, beta shapes, pval_true_df and pval_beta for one phenotype (FastQTL analysisPermutation)."""
    r_perm = np.asarray(r_perm, dtype=float)
    true_df = float(df0)
    if len(r_perm) > 1 and np.ptp(r_perm) > 0:
        true_df = learn_df(r_perm, df0)
    p_perm = pvalue_from_r(r_perm, true_df)
    shape1 = shape2 = 1.0
    mean = float(np.mean(p_perm))
    if num_var > 1 and mean != 1.0 and len(p_perm) > 1 and np.ptp(p_perm) > 0:
        shape1, shape2 = moments(p_perm)
        if num_var > 10:
            shape1, shape2 = mle_beta(p_perm, shape1, shape2)
    pval_true_df = float(pvalue_from_r(r_best, true_df))
    return {
        "beta_shape1": shape1,
        "beta_shape2": shape2,
        "true_df": true_df,
        "pval_true_df": pval_true_df,
        "pval_beta": float(betainc(shape1, shape2, pval_true_df)),
    }
