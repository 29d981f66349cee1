"""eQTL effect sizes as allelic fold change, aFC-n (Mohammadi et al. 2017; PejLab aFCn), MAGE §2.22.

Two steps per gene, both pure numpy/scipy:

1. ``correct_covariates``: OLS ``pheno ~ 1 + genotype indicators + covariates`` on the DESeq2 log2(x + 1)
   expression. Per lead variant, 0/1 indicators for hom-REF and hom-ALT (only when that class occurs; het is the
   baseline). Covariates whose 95 % CI (t, residual df) includes 0 are dropped, the model is refitted with the rest,
   and corrected = pheno - sum(beta_c * x_c) over the retained covariates (intercept and genotype effects stay in;
   unchanged when none is retained). The OLS is statsmodels' (pseudo-inverse, df = n - rank), so a class that is
   present but collinear costs nothing.
   Missing genotypes: MAGE's formula call (``smf.ols``) drops rows with a missing value (``sm.OLS``'s own default,
   ``missing='none'``, raises ``MissingDataError`` on NaN), so the fits use complete cases only; the correction is
   then applied to every sample, since its covariates are known. A NaN phenotype is likewise left out of the fits
   and stays NaN.
2. ``fit_afc``: y = log2(2^(h1 s) + 2^(h2 s)) + c0, least squares in (s_1..s_k, c0), s_k = log2 aFC bounded to
   [-6.64, 6.64]; start from the linear regression of y on (h1 + h2) / 2 (slopes clipped to the bounds, intercept
   as c0). aFCn fills missing expression with 0 (kept here) and drops samples with a missing haplotype (kept here).
   MAGE used lmfit ``leastsq`` with xtol = ftol = 0.01, which can stop short of the optimum; here
   ``scipy.optimize.least_squares`` (trust-region reflective, bounded, analytic Jacobian) runs to ``tol``
   (default 1e-12), with c0 profiled out in closed form (for fixed s the best c0 is mean(y - f(s))).
   ``log2_aFC_error`` is lmfit's stderr: sqrt(diag(inv(J'J)) * RSS / (n - n_params)) with J the Jacobian in
   (s, c0) at the optimum (lmfit's bound transform gives the same away from the bounds).

Intervals (default ``interval="profile"``, ``sigma=2``, as MAGE's ``conf_interval`` ±2σ entry; ≈ 95.45 % despite the
``95`` in the column names): a parameter's profile-likelihood limits are where the refit with that parameter fixed
reaches the F-test probability erf(sigma / sqrt 2), exactly lmfit's ``f_compare``:
F.cdf((RSS_fixed / RSS_best - 1) (n - p), 1, n - p). Solved as RSS_fixed = RSS_best (1 + F.ppf(level, 1, n - p) /
(n - p)) by bracketing and Brent's method. As in lmfit, a limit that is not reached before a bound of s is ±inf.
``interval="wald"`` gives estimate ± t.ppf((1 + level) / 2, n - p) * stderr (the same limits for a linear model).
When J'J is singular (e.g. a monomorphic variant) the stderr and intervals are NaN (lmfit leaves stderr unset and
``conf_interval`` refuses, which aFCn turns into NaN).

chrX (§2.22.4, §2.30): aFC runs on chrX only for genes whose lead variants all lie in the pseudo-autosomal regions;
``chrx_gene_eligible`` is that filter (GRCh38 PARs by default, 1-based inclusive).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, least_squares
from scipy.special import expit
from scipy.stats import f as f_dist
from scipy.stats import t as t_dist

from ..cli import InputError

LOG2_AFC_BOUND = 6.64  # aFCn: |log2 aFC| <= 6.64 (aFC within 1/100..100)
GRCH38_PARS = ((10_001, 2_781_479), (155_701_383, 156_030_895))  # chrX PAR1, PAR2 (1-based, inclusive)
EQTL_COLUMNS = ("gene_id", "variant_id", "variant_chr", "variant_pos")
RESULT_COLUMNS = (
    "log2_aFC",
    "log2_aFC_error",
    "log2_aFC_c0",
    "log2_aFC_min_95_interv",
    "log2_aFC_plus_95_interv",
    "log2_aFC_c0_min_95_interv",
    "log2_aFC_c0_plus_95_interv",
)
OUTPUT_COLUMNS = EQTL_COLUMNS + RESULT_COLUMNS
_MAX_BRACKET_STEPS = 60


# --------------------------------------------------------------------------------------------------------------------
# Step 1: covariate correction
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OlsFit:
    """statsmodels-style OLS: coefficients, standard errors and residual degrees of freedom (n - rank)."""

    params: np.ndarray
    bse: np.ndarray
    df_resid: int

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """(p, 2) lower/upper limits, t quantile with ``df_resid`` degrees of freedom (statsmodels ``conf_int``)."""
        q = t_dist.ppf(1 - alpha / 2, self.df_resid)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])


@dataclass(frozen=True)
class CovariateCorrection:
    """One gene's corrected phenotype, the retained covariates and their refitted coefficients."""

    gene_id: str
    corrected: np.ndarray
    retained: tuple[str, ...]
    coefficients: tuple[float, ...]
    n_fit: int


def ols(y: np.ndarray, x: np.ndarray) -> OlsFit:
    """OLS through the pseudo-inverse, as statsmodels ``OLS.fit()`` (scale = RSS / (n - rank))."""
    pinv = np.linalg.pinv(x)
    params = pinv @ y
    df_resid = x.shape[0] - int(np.linalg.matrix_rank(x))
    resid = y - x @ params
    scale = float(resid @ resid) / df_resid if df_resid > 0 else math.nan
    bse = np.sqrt(np.einsum("ij,ij->i", pinv, pinv) * scale)
    return OlsFit(params, bse, df_resid)


def genotype_indicators(alt_counts: np.ndarray, gene_id: str, variant_ids: Sequence[str]) -> np.ndarray:
    """(n, m) hom-REF / hom-ALT 0/1 columns per variant, each only if that class occurs; NaN where GT is missing."""
    columns = []
    for j, variant in enumerate(variant_ids):
        g = alt_counts[:, j]
        called = g[~np.isnan(g)]
        if not np.isin(called, (0.0, 1.0, 2.0)).all():
            raise InputError(f"gene {gene_id}, variant {variant}: ALT counts must be 0, 1, 2 or NaN (missing)")
        for code in (0.0, 2.0):
            if (called == code).any():
                columns.append(np.where(np.isnan(g), np.nan, (g == code).astype(float)))
    return np.column_stack(columns) if columns else np.empty((alt_counts.shape[0], 0))


def _as_matrix(values, n: int, what: str, gene_id: str) -> np.ndarray:
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise InputError(f"gene {gene_id}: {what} has shape {matrix.shape}, expected ({n}, ·) for {n} samples")
    return matrix


def _check_covariates(covariates: np.ndarray, names: Sequence[str], gene_id: str) -> None:
    if len(names) != covariates.shape[1]:
        raise InputError(f"gene {gene_id}: {len(names)} covariate names for {covariates.shape[1]} covariate columns")
    bad = ~np.isfinite(covariates)
    if bad.any():
        sample, column = np.argwhere(bad)[0]
        raise InputError(f"gene {gene_id}: covariate {names[column]} is not finite for sample {sample}")


def correct_covariates(
    pheno: np.ndarray,
    alt_counts: np.ndarray,
    covariates: np.ndarray,
    *,
    gene_id: str,
    variant_ids: Sequence[str] | None = None,
    covariate_names: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> CovariateCorrection:
    """MAGE's ``correct_covariates.ci95_wGT``: remove covariates whose (1 - alpha) CI excludes 0 (see module doc).

    ``pheno`` (n,): log2(x + 1) expression; ``alt_counts`` (n, k): ALT count 0/1/2 from GT of the gene's lead
    variants, NaN = missing; ``covariates`` (n, m): numeric, string covariates already dummy-coded.
    """
    y = np.asarray(pheno, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise InputError(f"gene {gene_id}: phenotype must be a non-empty vector, got shape {y.shape}")
    if np.isinf(y).any():
        raise InputError(f"gene {gene_id}: phenotype is infinite for sample {int(np.argmax(np.isinf(y)))}")
    g = _as_matrix(alt_counts, y.size, "genotype matrix", gene_id)
    c = _as_matrix(covariates, y.size, "covariate matrix", gene_id)
    variant_ids = list(variant_ids) if variant_ids is not None else [f"variant{j}" for j in range(g.shape[1])]
    names = list(covariate_names) if covariate_names is not None else [f"cov{j}" for j in range(c.shape[1])]
    if len(variant_ids) != g.shape[1]:
        raise InputError(f"gene {gene_id}: {len(variant_ids)} variant IDs for {g.shape[1]} genotype columns")
    _check_covariates(c, names, gene_id)
    base = np.column_stack([np.ones(y.size), genotype_indicators(g, gene_id, variant_ids)])
    rows = ~np.isnan(g).any(axis=1) & ~np.isnan(y)
    if not rows.any():
        raise InputError(f"gene {gene_id}: no sample has a phenotype and called genotypes at every lead variant")
    full = ols(y[rows], np.column_stack([base[rows], c[rows]]))
    if full.df_resid <= 0:
        raise InputError(f"gene {gene_id}: {int(rows.sum())} complete samples are too few for the covariate OLS")
    limits = full.conf_int(alpha)[base.shape[1] :]
    keep = np.flatnonzero(~((limits[:, 0] <= 0) & (limits[:, 1] >= 0)))
    if keep.size == 0:
        return CovariateCorrection(gene_id, y.copy(), (), (), int(rows.sum()))
    beta = ols(y[rows], np.column_stack([base[rows], c[rows][:, keep]])).params[base.shape[1] :]
    corrected = y - c[:, keep] @ beta
    return CovariateCorrection(gene_id, corrected, tuple(names[i] for i in keep), tuple(map(float, beta)), int(rows.sum()))


# --------------------------------------------------------------------------------------------------------------------
# Step 2: aFC-n fit
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AfcResult:
    """One gene's aFC-n fit: per-variant log2 aFC, stderr and interval; the gene's c0; the interval method used."""

    gene_id: str
    variant_ids: tuple[str, ...]
    log2_afc: tuple[float, ...]
    log2_afc_error: tuple[float, ...]
    log2_afc_interval: tuple[tuple[float, float], ...]
    c0: float
    c0_error: float
    c0_interval: tuple[float, float]
    rss: float
    n_samples: int
    interval: str
    sigma: float


def afc_model(s: np.ndarray, c0: float, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Expected expression log2(2^(h1 s) + 2^(h2 s)) + c0 for haplotypes h1, h2 (n, k)."""
    return np.logaddexp2(h1 @ s, h2 @ s) + c0


def _jacobian_s(s: np.ndarray, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """d model / d s: w h1 + (1 - w) h2 with w = 2^(h1 s) / (2^(h1 s) + 2^(h2 s))."""
    w = expit(math.log(2.0) * (h1 @ s - h2 @ s))[:, None]
    return w * h1 + (1.0 - w) * h2


def _check_haplotypes(y, h1, h2, gene_id: str, variant_ids: Sequence[str]):
    """Validated float arrays; samples with a missing haplotype (NaN) dropped, missing expression set to 0 (aFCn)."""
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise InputError(f"gene {gene_id}: expression must be a non-empty vector, got shape {y.shape}")
    h1 = _as_matrix(h1, y.size, "haplotype 1 matrix", gene_id)
    h2 = _as_matrix(h2, y.size, "haplotype 2 matrix", gene_id)
    if h1.shape != h2.shape:
        raise InputError(f"gene {gene_id}: haplotype matrices {h1.shape} and {h2.shape} do not match")
    if len(variant_ids) != h1.shape[1] or h1.shape[1] == 0:
        raise InputError(f"gene {gene_id}: {len(variant_ids)} variant IDs for {h1.shape[1]} haplotype columns")
    for j, variant in enumerate(variant_ids):
        values = np.concatenate([h1[:, j], h2[:, j]])
        if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
            raise InputError(f"gene {gene_id}, variant {variant}: haplotypes must be 0 (REF), 1 (ALT) or NaN (missing)")
    if np.isinf(y).any():
        raise InputError(f"gene {gene_id}: expression is infinite for sample {int(np.argmax(np.isinf(y)))}")
    keep = ~(np.isnan(h1).any(axis=1) | np.isnan(h2).any(axis=1))
    if not keep.any():
        raise InputError(f"gene {gene_id}: no sample with both haplotypes called at every lead variant")
    return np.nan_to_num(y[keep], nan=0.0), h1[keep], h2[keep]


def initial_values(y: np.ndarray, h1: np.ndarray, h2: np.ndarray, bound: float = LOG2_AFC_BOUND) -> np.ndarray:
    """aFCn's start: regression of y on (h1 + h2) / 2 with intercept; slopes clipped to the bounds, then c0."""
    x = np.column_stack([np.ones(y.size), (h1 + h2) / 2.0])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    return np.append(np.clip(coef[1:], -bound, bound), coef[0])


def constrained_fit(
    y: np.ndarray,
    h1: np.ndarray,
    h2: np.ndarray,
    start: np.ndarray,
    *,
    fixed: int | None = None,
    bound: float = LOG2_AFC_BOUND,
    tol: float = 1e-12,
) -> tuple[np.ndarray, float]:
    """Least-squares (s, c0) with parameter ``fixed`` (index; k = c0) held at its value in ``start``; (theta, RSS).

    c0, when free, is profiled out exactly (mean residual), so the solver only sees the free s.
    """
    k = h1.shape[1]
    theta = np.array(start, dtype=float)
    free = np.array([i for i in range(k) if i != fixed], dtype=int)
    profile_c0 = fixed != k

    def s_of(x: np.ndarray) -> np.ndarray:
        s = theta[:k].copy()
        s[free] = x
        return s

    def residual(x: np.ndarray) -> np.ndarray:
        r = afc_model(s_of(x), 0.0, h1, h2) - y
        return r - r.mean() if profile_c0 else r + theta[k]

    def jacobian(x: np.ndarray) -> np.ndarray:
        jac = _jacobian_s(s_of(x), h1, h2)[:, free]
        return jac - jac.mean(axis=0) if profile_c0 else jac

    if free.size:
        x0 = np.clip(theta[free], -bound, bound)
        sol = least_squares(residual, x0, jac=jacobian, bounds=(-bound, bound), method="trf", xtol=tol, ftol=tol, gtol=tol)
        theta[:k] = s_of(sol.x)
    if profile_c0:
        theta[k] = float(np.mean(y - afc_model(theta[:k], 0.0, h1, h2)))
    r = afc_model(theta[:k], theta[k], h1, h2) - y
    return theta, float(r @ r)


def standard_errors(theta: np.ndarray, rss: float, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """lmfit leastsq stderr: sqrt(diag(inv(J'J)) * RSS / (n - p)); NaN when J'J is singular or n <= p."""
    jac = np.column_stack([_jacobian_s(theta[:-1], h1, h2), np.ones(h1.shape[0])])
    n, p = jac.shape
    if n <= p or np.linalg.matrix_rank(jac) < p:
        return np.full(p, np.nan)
    return np.sqrt(np.diag(np.linalg.inv(jac.T @ jac)) * rss / (n - p))


def _profile_limit(
    excess: Callable[[float], float], start: float, step: float, direction: int, bound: float, root_tol: float
) -> float:
    """Where ``excess`` (negative at ``start``) crosses 0 going ``direction`` from start; ±inf if not before ``bound``."""
    inner = start
    for _ in range(_MAX_BRACKET_STEPS):
        outer = start + direction * step
        at_bound = direction * (outer - bound) >= 0
        outer = bound if at_bound else outer
        if excess(outer) >= 0:
            return brentq(excess, min(inner, outer), max(inner, outer), xtol=root_tol)
        if at_bound:
            break
        inner, step = outer, 2.0 * step
    return direction * math.inf


def profile_interval(
    y: np.ndarray,
    h1: np.ndarray,
    h2: np.ndarray,
    theta: np.ndarray,
    rss: float,
    se: np.ndarray,
    index: int,
    *,
    sigma: float = 2.0,
    bound: float = LOG2_AFC_BOUND,
    tol: float = 1e-12,
    root_tol: float = 1e-10,
) -> tuple[float, float]:
    """Profile-likelihood (F-test) interval of parameter ``index`` at ``sigma`` (lmfit ``conf_interval``)."""
    nfree = y.size - theta.size
    if nfree <= 0 or not np.isfinite(se[index]) or rss <= 0:
        return math.nan, math.nan
    level = math.erf(sigma / math.sqrt(2.0))
    target = rss * (1.0 + f_dist.ppf(level, 1, nfree) / nfree)

    @functools.cache  # brentq re-evaluates the bracket ends
    def excess(value: float) -> float:
        start = theta.copy()
        start[index] = value
        return constrained_fit(y, h1, h2, start, fixed=index, bound=bound, tol=tol)[1] - target

    value = theta[index]
    step = se[index] if se[index] > 0 else max(0.2 * abs(value), 1e-3)
    limit = bound if index < theta.size - 1 else math.inf
    return (
        _profile_limit(excess, value, step, -1, -limit, root_tol),
        _profile_limit(excess, value, step, 1, limit, root_tol),
    )


def wald_interval(theta: np.ndarray, se: np.ndarray, n: int, sigma: float = 2.0) -> np.ndarray:
    """(p, 2) estimate ± t.ppf((1 + level) / 2, n - p) * stderr, level = erf(sigma / sqrt 2)."""
    nfree = n - theta.size
    if nfree <= 0:
        return np.full((theta.size, 2), np.nan)
    q = t_dist.ppf((1.0 + math.erf(sigma / math.sqrt(2.0))) / 2.0, nfree)
    return np.column_stack([theta - q * se, theta + q * se])


def fit_afc(
    expression: np.ndarray,
    h1: np.ndarray,
    h2: np.ndarray,
    *,
    gene_id: str,
    variant_ids: Sequence[str],
    interval: str = "profile",
    sigma: float = 2.0,
    bound: float = LOG2_AFC_BOUND,
    tol: float = 1e-12,
    root_tol: float = 1e-10,
) -> AfcResult:
    """aFC-n for one gene: ``expression`` (n,), haplotypes ``h1``/``h2`` (n, k) 0/1 ALT, one column per lead variant.

    ``interval``: "profile" (default, as MAGE's lmfit ``conf_interval``) or "wald"; ``sigma``: interval width in
    normal standard deviations (2 = MAGE's reported ±2σ); ``tol``: least_squares xtol = ftol = gtol; ``root_tol``:
    absolute tolerance of the profile-limit root.
    """
    if interval not in ("profile", "wald"):
        raise ValueError(f"interval must be 'profile' or 'wald', not {interval!r}")
    variant_ids = tuple(variant_ids)
    y, h1, h2 = _check_haplotypes(expression, h1, h2, gene_id, variant_ids)
    theta, rss = constrained_fit(y, h1, h2, initial_values(y, h1, h2, bound), bound=bound, tol=tol)
    se = standard_errors(theta, rss, h1, h2)
    if interval == "wald" or np.isnan(se).any():
        limits = wald_interval(theta, se, y.size, sigma)
    else:
        limits = np.array(
            [
                profile_interval(y, h1, h2, theta, rss, se, i, sigma=sigma, bound=bound, tol=tol, root_tol=root_tol)
                for i in range(theta.size)
            ]
        )
    k = len(variant_ids)
    return AfcResult(
        gene_id=gene_id,
        variant_ids=variant_ids,
        log2_afc=tuple(map(float, theta[:k])),
        log2_afc_error=tuple(map(float, se[:k])),
        log2_afc_interval=tuple((float(lo), float(hi)) for lo, hi in limits[:k]),
        c0=float(theta[k]),
        c0_error=float(se[k]),
        c0_interval=(float(limits[k, 0]), float(limits[k, 1])),
        rss=rss,
        n_samples=int(y.size),
        interval=interval,
        sigma=sigma,
    )


def afc_table(eqtls: pd.DataFrame, results: Iterable[AfcResult]) -> pd.DataFrame:
    """MAGE's aFC output: the eQTL table's rows (``gene_id, variant_id, variant_chr, variant_pos``, in its order)
    with the result columns; NaN for eQTLs without a result (as aFCn's left merge)."""
    missing = [c for c in EQTL_COLUMNS if c not in eqtls.columns]
    if missing:
        raise InputError(f"eQTL table lacks column(s) {', '.join(missing)}")
    rows = [
        (r.gene_id, v, r.log2_afc[i], r.log2_afc_error[i], r.c0, *r.log2_afc_interval[i], *r.c0_interval)
        for r in results
        for i, v in enumerate(r.variant_ids)
    ]
    fits = pd.DataFrame(rows, columns=["gene_id", "variant_id", *RESULT_COLUMNS])
    table = eqtls.loc[:, list(EQTL_COLUMNS)].merge(fits, how="left", on=["gene_id", "variant_id"], validate="many_to_one")
    return table.loc[:, list(OUTPUT_COLUMNS)]


# --------------------------------------------------------------------------------------------------------------------
# chrX policy
# --------------------------------------------------------------------------------------------------------------------


def in_pars(chrom: Sequence[str], pos: Sequence[int], pars: Sequence[tuple[int, int]] = GRCH38_PARS) -> np.ndarray:
    """Per variant: on chrX ("chrX" or "X") and inside one of ``pars`` (1-based, inclusive (start, end) pairs)."""
    on_x = np.array([str(c).removeprefix("chr") == "X" for c in chrom], dtype=bool)
    pos = np.asarray(pos, dtype=np.int64)
    inside = np.zeros(pos.shape, dtype=bool)
    for start, end in pars:
        inside |= (pos >= start) & (pos <= end)
    return on_x & inside


def chrx_gene_eligible(
    variant_chr: Sequence[str], variant_pos: Sequence[int], pars: Sequence[tuple[int, int]] = GRCH38_PARS
) -> bool:
    """MAGE's chrX aFC filter: True only if the gene has lead variants and every one lies within a PAR.

    (MAGE removes any gene with a non-PAR lead variant with ``bedtools intersect -v`` on a PAR BED; outside the PARs
    the hap2dip VCF codes male X as homozygous, which the two-haplotype model would misread.)
    """
    inside = in_pars(variant_chr, variant_pos, pars)
    return bool(inside.size) and bool(inside.all())
