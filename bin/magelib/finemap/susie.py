"""SuSiE fine-mapping (Wang et al. 2020, IBSS), a numpy port of R susieR 0.12.35 that reproduces its numbers.

Two entry points share one IBSS loop:
- ``susie(X, y)``: individual-level data, as ``susieR::susie`` with its defaults (standardize, intercept,
  prior variance by "optim", check_null_threshold 0, prior_tol 1e-9, no refine). Only matrix-vector products
  with the standardised X are used; X'X is never formed.
- ``susie_rss(z, R, n)``: summary statistics, as ``susieR::susie_rss`` given z, R and n (no bhat/shat), which
  calls ``susie_suff_stat`` with X'X = (n-1) R, X'y = sqrt(n-1) z~, y'y = n-1 on the standardised scale,
  where z~ = z sqrt((n-1) / (z^2 + n - 2)). var_y is ignored by susieR in that case, so it is not taken here.

The two modes differ only in how X'r and E||y - Xb||^2 are computed (``_Individual`` / ``_SuffStat``); the
single-effect regression, the prior-variance optimiser, the ELBO, credible sets and PIPs are shared.

Where it matters for the numbers the R sources are followed literally:
- the prior variance is optimised on log V in [-30, 15] by R's ``optimize`` (Brent's fmin, ported exactly,
  tol = sqrt(machine eps) as ``optim(method = "Brent")`` passes), kept at the previous V if that is better,
  and set to 0 when the null is at least as likely (check_null_threshold);
- the ELBO is checked before the residual variance update; individual mode floors sigma2 at var(y) / 1e4;
- credible sets follow ``susie_get_cs``: effects with V <= 1e-9 (hard-coded there, not prior_tol) are left
  out, sets are the shortest prefix of alpha sorted decreasingly (ties: smaller index first) whose sum reaches
  the coverage, duplicates of an earlier effect's set are dropped, then sets with min |r| < min_abs_corr, and
  the kept sets are ordered by decreasing min |r|;
- PIPs follow ``susie_get_pip``: 1 - prod(1 - alpha) over effects with V > prior_tol.

Deliberate differences from susieR:
- purity is computed on all variables of a set. susieR draws a random subset of n_purity = 100 variables when a
  set is larger, so its purity (and hence which sets pass min_abs_corr) is random there; ours is deterministic
  and equals susieR's whenever the set has <= n_purity variables.
- non-finite inputs raise InputError (susieR sets NA z-scores to 0); R is always symmetrised as (R + R') / 2
  (susieR does so only when isSymmetric() fails, an identity for an exactly symmetric R).
- no warning is printed when IBSS does not converge; ``SusieFit.converged`` says so.
- susieR's stops become InputError: in rss mode a prior variance above 100 max(z^2) (check_prior) or a negative
  residual variance; in both modes an infinite objective (susieR checks that in rss mode only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..cli import InputError

_LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_LOG_V_BOUNDS = (-30.0, 15.0)  # susieR optimize_prior_variance: optim(lower = -30, upper = 15)
_CS_PRIOR_TOL = 1e-9  # susie_get_cs: res$V > 1e-09, independent of prior_tol
_PURITY_PROBE = 200  # variables of a large set checked first for a pair below min_abs_corr


@dataclass(frozen=True)
class CredibleSet:
    """One credible set: its effect (row of alpha, 0-based), its variables (0-based, ascending), the summed
    alpha it achieved, and purity = (min, mean, median) |r| over pairs of its variables (1, 1, 1 if one)."""

    effect: int
    variables: np.ndarray
    coverage: float
    purity: tuple[float, float, float]


@dataclass(frozen=True)
class SusieFit:
    """A SuSiE fit in susieR's terms. mu and mu2 are on the standardised-X scale (as susieR's s$mu, s$mu2);
    V is the prior variance of each effect (0 when the null won), lbf the log Bayes factor of each effect,
    lbf_variable the per-variable log Bayes factors, elbo the objective after each IBSS sweep, sets the
    credible sets kept (ordered as susieR: decreasing min |r|)."""

    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    V: np.ndarray
    sigma2: float
    lbf: np.ndarray
    lbf_variable: np.ndarray
    pip: np.ndarray
    niter: int
    converged: bool
    elbo: np.ndarray
    sets: tuple[CredibleSet, ...]


def susie(
    X,
    y,
    L: int = 10,
    *,
    coverage: float = 0.95,
    min_abs_corr: float = 0.5,
    estimate_prior_variance: bool = True,
    estimate_residual_variance: bool = True,
    max_iter: int = 100,
    tol: float = 1e-3,
    scaled_prior_variance: float = 0.2,
    residual_variance: float | None = None,
    check_null_threshold: float = 0.0,
    prior_tol: float = 1e-9,
) -> SusieFit:
    """Individual-level SuSiE on X (n x p) and y (n), as susieR::susie with its defaults; credible-set
    purity uses the correlation of the columns of X."""
    options = {
        "L": L, "coverage": coverage, "min_abs_corr": min_abs_corr, "estimate_prior_variance": estimate_prior_variance,
        "estimate_residual_variance": estimate_residual_variance, "max_iter": max_iter, "tol": tol,
        "scaled_prior_variance": scaled_prior_variance, "residual_variance": residual_variance,
        "check_null_threshold": check_null_threshold, "prior_tol": prior_tol,
    }  # fmt: skip
    X = _finite("X", X, 2)
    y = _finite("y", y, 1)
    n, p = X.shape
    if n <= 1 or p < 1:
        raise InputError(f"susie: X must have at least 2 rows and 1 column, got {n} x {p}")
    if y.shape[0] != n:
        raise InputError(f"susie: y has {y.shape[0]} values but X has {n} rows")
    data = _Individual(X, y)
    var_y = float(np.var(data.y, ddof=1))
    if not var_y > 0:
        raise InputError("susie: y is constant, so its variance (the initial residual variance) is zero")
    return _fit(data, var_y, **options)


def susie_rss(
    z,
    R,
    n: float,
    L: int = 10,
    *,
    coverage: float = 0.95,
    min_abs_corr: float = 0.5,
    estimate_prior_variance: bool = True,
    estimate_residual_variance: bool = False,
    max_iter: int = 100,
    tol: float = 1e-3,
    scaled_prior_variance: float = 0.2,
    residual_variance: float | None = None,
    check_null_threshold: float = 0.0,
    prior_tol: float = 1e-9,
) -> SusieFit:
    """SuSiE from z-scores, the LD matrix R and the sample size n, as susieR::susie_rss(z, R, n) (whose default
    estimate_residual_variance is FALSE; pass True only with in-sample R). Raises InputError, as susieR stops,
    when an estimated prior variance exceeds 100 max(z^2) (z and R disagree) or sigma2 turns negative."""
    options = {
        "L": L, "coverage": coverage, "min_abs_corr": min_abs_corr, "estimate_prior_variance": estimate_prior_variance,
        "estimate_residual_variance": estimate_residual_variance, "max_iter": max_iter, "tol": tol,
        "scaled_prior_variance": scaled_prior_variance, "residual_variance": residual_variance,
        "check_null_threshold": check_null_threshold, "prior_tol": prior_tol,
    }  # fmt: skip
    z = _finite("z", z, 1)
    R = _finite("R", R, 2)
    p = z.shape[0]
    if R.shape != (p, p):
        raise InputError(f"susie_rss: R is {R.shape[0]} x {R.shape[1]} but z has {p} values")
    n = float(_finite("n", n, 0))
    if not n > 1:
        raise InputError(f"susie_rss: n must be greater than 1, got {n:g}")
    z_adj = z * np.sqrt((n - 1) / (z**2 + n - 2))
    R = (R + R.T) / 2
    data = _SuffStat((n - 1) * R, math.sqrt(n - 1) * z_adj, n - 1, n)
    return _fit(data, 1.0, **options)


def lead_index(pip, variables) -> int:
    """The lead variant of a credible set: its variable with the highest PIP, ties broken by the smaller
    index (as susieR's get_cs_correlation: which.max over the ascending set), so the choice is reproducible."""
    variables = np.sort(np.asarray(variables, dtype=int))
    if variables.size == 0:
        raise InputError("lead_index: the credible set is empty")
    return int(variables[np.argmax(np.asarray(pip, dtype=float)[variables])])


class _Individual:
    """Centred y and centred, unit-variance X (susieR standardize = TRUE, intercept = TRUE); the fitted
    values are kept as Xb (n-vector), so each update is one X'v and one Xb product."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.n = X.shape[0]
        self.X = X
        var = np.var(X, axis=0, ddof=1)
        csd = np.sqrt(var)
        csd[csd == 0] = 1.0  # susieR compute_colstats: constant columns stay unscaled and get d = 0
        self.Xs = (X - X.mean(axis=0)) / csd
        self.y = y - y.mean()
        self.d = (self.n - 1) * var / csd**2
        self.z = None  # no prior-variance sanity check (susie_rss's check_prior)
        self.sigma2_floor = np.var(self.y, ddof=1) / 1e4  # susie(): residual_variance_lowerbound = var(y) / 10000

    def fitted(self, b: np.ndarray) -> np.ndarray:
        return self.Xs @ b

    def xtr(self, fit: np.ndarray) -> np.ndarray:
        return self.Xs.T @ (self.y - fit)

    def er2(self, fit: np.ndarray, B: np.ndarray, postb2: np.ndarray) -> float:
        """E||y - Xb||^2 (susieR get_ER2)."""
        XB = self.Xs @ B.T
        return float(np.sum((self.y - fit) ** 2) - np.sum(XB**2) + np.sum(self.d * postb2))

    def corr(self, idx: np.ndarray) -> np.ndarray:
        """cor() of the raw columns; a constant column gives NaN, so its set fails the purity filter, as in R."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.corrcoef(self.X[:, idx], rowvar=False)


class _SuffStat:
    """X'X, X'y, y'y and n, standardised as susie_suff_stat(standardize = TRUE); the fitted values are kept as
    X'Xb (p-vector)."""

    def __init__(self, XtX: np.ndarray, Xty: np.ndarray, yty: float, n: float):
        self.n = n
        csd = np.sqrt(np.diag(XtX) / (n - 1))
        csd[csd == 0] = 1.0
        self.XtX = XtX / csd[:, None] / csd[None, :]
        self.Xty = Xty / csd
        self.yty = yty
        self.d = np.diag(self.XtX).copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            self.z = self.Xty / np.sqrt(self.d)  # susie_suff_stat's z for check_prior (sigma2 = 1 there)
        self.sigma2_floor = None  # susie_suff_stat has no lower bound; a negative estimate is an error

    def fitted(self, b: np.ndarray) -> np.ndarray:
        return self.XtX @ b

    def xtr(self, fit: np.ndarray) -> np.ndarray:
        return self.Xty - fit

    def er2(self, fit: np.ndarray, B: np.ndarray, postb2: np.ndarray) -> float:
        """E||y - Xb||^2 from sufficient statistics (susieR get_ER2_ss)."""
        betabar = B.sum(axis=0)
        XB2 = np.sum((B @ self.XtX) * B)
        return float(self.yty - 2 * betabar @ self.Xty + betabar @ fit - XB2 + np.sum(self.d * postb2))

    def corr(self, idx: np.ndarray) -> np.ndarray:
        """cov2cor of the standardised X'X, as susie_suff_stat passes it to susie_get_cs."""
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_sd = np.sqrt(1 / self.d[idx])
            return inv_sd[:, None] * self.XtX[np.ix_(idx, idx)] * inv_sd[None, :]


def _fit(
    data,
    var_y: float,
    *,
    L,
    coverage,
    min_abs_corr,
    estimate_prior_variance,
    estimate_residual_variance,
    max_iter,
    tol,
    scaled_prior_variance,
    residual_variance,
    check_null_threshold,
    prior_tol,
) -> SusieFit:
    """Check the options, run IBSS, then derive credible sets and PIPs (susieR's tail of susie())."""
    L = _positive_int("L", L)
    if not 0 < coverage < 1:
        raise InputError(f"susie: coverage must be in (0, 1), got {coverage}")
    if not 0 <= min_abs_corr <= 1:
        raise InputError(f"susie: min_abs_corr must be in [0, 1], got {min_abs_corr}")
    if not 0 <= scaled_prior_variance <= 1:
        raise InputError(f"susie: scaled_prior_variance must be in [0, 1], got {scaled_prior_variance}")
    max_iter = _positive_int("max_iter", max_iter)
    sigma2 = var_y if residual_variance is None else float(residual_variance)
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise InputError(f"susie: the residual variance must be positive, got {sigma2}")
    L = min(L, data.d.size)  # susieR init_setup: at most p effects
    state = _ibss(
        data,
        L,
        scaled_prior_variance * var_y,
        sigma2,
        estimate_prior_variance,
        estimate_residual_variance,
        max_iter,
        tol,
        check_null_threshold,
    )
    alpha, V = state["alpha"], state["V"]
    included = alpha[V > prior_tol]
    pip = 1 - np.prod(1 - included, axis=0) if included.shape[0] else np.zeros(alpha.shape[1])
    sets = _credible_sets(alpha, V, coverage, min_abs_corr, data.corr)
    arrays = {k: _frozen(v) for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: state[k] for k in ("sigma2", "niter", "converged")}
    return SusieFit(**arrays, **scalars, pip=_frozen(pip), sets=sets)


def _ibss(data, L, V0, sigma2, estimate_prior, estimate_sigma2, max_iter, tol, null_threshold):
    """Iterative Bayesian stepwise selection (susieR susie() / susie_suff_stat() main loop): one sweep of
    single-effect regressions on the residual of the other effects, the ELBO, then the residual variance."""
    p = data.d.size
    alpha = np.full((L, p), 1 / p)
    mu = np.zeros((L, p))
    mu2 = np.zeros((L, p))
    V = np.full(L, float(V0))
    lbf = np.full(L, np.nan)
    lbf_variable = np.full((L, p), np.nan)
    kl = np.full(L, np.nan)
    prior = np.full(p, 1 / p)
    fit = data.fitted(np.zeros(p))
    max_V = 100 * np.nanmax(np.abs(data.z)) ** 2 if data.z is not None else np.inf
    elbo = [-np.inf]
    converged = False
    for _ in range(max_iter):
        for k in range(L):
            fit = fit - data.fitted(alpha[k] * mu[k])
            xtr = data.xtr(fit)
            alpha[k], mu[k], mu2[k], V[k], lbf[k], lbf_variable[k] = _ser(
                xtr, data.d, V[k], sigma2, prior, estimate_prior, null_threshold
            )
            kl[k] = -lbf[k] - 0.5 / sigma2 * (-2 * np.sum(alpha[k] * mu[k] * xtr) + np.sum(data.d * alpha[k] * mu2[k]))
            fit = fit + data.fitted(alpha[k] * mu[k])
        if np.any(V > max_V):
            raise InputError(
                "susie_rss: the estimated prior variance is unreasonably large, usually because the z-scores "
                "and the LD matrix R do not match"
            )
        er2 = data.er2(fit, alpha * mu, alpha * mu2)
        elbo.append(-data.n / 2 * math.log(2 * math.pi * sigma2) - er2 / (2 * sigma2) - float(np.sum(kl)))
        if not np.isfinite(elbo[-1]):
            raise InputError("susie: the objective became infinite; check the input")
        if elbo[-1] - elbo[-2] < tol:
            converged = True
            break
        if estimate_sigma2:
            sigma2 = er2 / data.n
            if data.sigma2_floor is not None:
                sigma2 = max(data.sigma2_floor, sigma2)
            elif sigma2 < 0:
                raise InputError("susie_rss: estimating the residual variance failed (negative); check z and R")
    return {
        "alpha": alpha, "mu": mu, "mu2": mu2, "V": V, "lbf": lbf, "lbf_variable": lbf_variable,
        "elbo": np.array(elbo[1:]), "sigma2": float(sigma2), "niter": len(elbo) - 1, "converged": converged,
    }  # fmt: skip


def _ser(xtr, d, V, sigma2, prior, estimate_prior, null_threshold):
    """Single-effect regression on the residual, given only X'r and d = diag(X'X) (susieR
    single_effect_regression[_ss]): optional prior variance update, then the posterior of the one effect."""
    with np.errstate(divide="ignore", invalid="ignore"):
        betahat = xtr / d
        shat2 = sigma2 / d
        if estimate_prior:
            V = _optimize_prior_variance(betahat, shat2, prior, V, null_threshold)
        lbf = _lbf_variable(V, betahat, shat2)
        maxlbf = lbf.max()
        w = np.exp(lbf - maxlbf) * prior
        sum_w = w.sum()
        post_var = 1 / (1 / np.float64(V) + d / sigma2)  # V = 0 (null effect): posterior variance 0
        post_mean = (1 / sigma2) * post_var * xtr
    return w / sum_w, post_mean, post_var + post_mean**2, V, maxlbf + math.log(sum_w), lbf


def _lbf_variable(V, betahat, shat2):
    """log N(betahat; 0, V + shat2) - log N(betahat; 0, shat2), written as R's dnorm(log = TRUE) computes it;
    0 where shat2 is infinite (constant columns)."""
    sd1 = np.sqrt(V + shat2)
    sd0 = np.sqrt(shat2)
    lbf = -(_LN_SQRT_2PI + 0.5 * (betahat / sd1) ** 2 + np.log(sd1)) + (_LN_SQRT_2PI + 0.5 * (betahat / sd0) ** 2 + np.log(sd0))
    lbf[np.isinf(shat2)] = 0.0
    return lbf


def _loglik(V, betahat, shat2, prior) -> float:
    """log of the prior-weighted mean Bayes factor of the single-effect model at prior variance V."""
    lbf = _lbf_variable(V, betahat, shat2)
    maxlbf = lbf.max()
    return math.log(np.sum(np.exp(lbf - maxlbf) * prior)) + maxlbf


def _optimize_prior_variance(betahat, shat2, prior, V, null_threshold) -> float:
    """susieR optimize_prior_variance(optimize_V = "optim"): Brent on log V over [-30, 15], keep the old V if
    it is better, and 0 if the null model is at least as likely."""

    def neg(log_v):
        return -_loglik(math.exp(log_v), betahat, shat2, prior)

    log_v = _brent_fmin(neg, *_LOG_V_BOUNDS, tol=math.sqrt(np.finfo(float).eps))
    old_log_v = math.log(V) if V > 0 else -math.inf
    if neg(log_v) > neg(old_log_v):
        log_v = old_log_v
    V = math.exp(log_v)
    if _loglik(0.0, betahat, shat2, prior) + null_threshold >= _loglik(V, betahat, shat2, prior):
        V = 0.0
    return V


def _brent_fmin(f, a: float, b: float, tol: float) -> float:
    """Brent's derivative-free minimiser step for step as R's optimize() runs it (Brent_fmin in R's optimize.c),
    so the prior-variance search takes susieR's path and stops where it stops; a generic optimiser would stop
    anywhere within its tolerance (log V +- 1e-8 or worse) and move PIPs by more than rounding. Non-finite
    function values count as the largest double, as in R's optimize()."""

    def fx_(x):
        v = f(x)
        return v if math.isfinite(v) else np.finfo(float).max

    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(np.finfo(float).eps)
    v = w = x = a + c * (b - a)
    d = e = 0.0
    fv = fw = fx = fx_(x)
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            return x
        p = q = r = 0.0
        if abs(e) > tol1:  # fit a parabola
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = (q - r) * 2.0
            if q > 0.0:
                p = -p
            else:
                q = -q
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):  # golden-section step
            e = b - x if x < xm else a - x
            d = c * e
        else:  # parabolic-interpolation step
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = fx_(u)
        if fu <= fx:
            if u < x:
                b = x
            else:
                a = x
            v, w, x = w, x, u
            fv, fw, fx = fw, fx, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu


def _credible_sets(alpha, V, coverage, min_abs_corr, corr) -> tuple[CredibleSet, ...]:
    """susieR susie_get_cs(dedup = TRUE) with purity on all variables of each set (see the module docstring)."""
    L, p = alpha.shape
    order = np.argsort(-alpha, axis=1, kind="stable")  # R order(decreasing = TRUE): ties by smaller index
    cum = np.cumsum(np.take_along_axis(alpha, order, axis=1), axis=1)
    sizes = np.minimum(np.sum(cum < coverage, axis=1) + 1, p)
    members = [np.sort(order[k, : sizes[k]]) for k in range(L)]
    seen: set[bytes] = set()
    sets = []
    for k, idx in enumerate(members):
        duplicate = idx.tobytes() in seen  # R duplicated() runs over all effects, kept or not
        seen.add(idx.tobytes())
        if V[k] > _CS_PRIOR_TOL and not duplicate and not _impure_early(idx, corr, min_abs_corr):
            purity = _purity(idx, corr)
            if purity[0] >= min_abs_corr:
                sets.append(CredibleSet(k, _frozen(idx), float(np.sum(alpha[k, idx])), purity))
    return tuple(sorted(sets, key=lambda s: -s.purity[0]))  # stable, as R order(decreasing = TRUE)


def _impure_early(idx: np.ndarray, corr, min_abs_corr: float, probe: int = _PURITY_PROBE) -> bool:
    """True when variables spread over a large set already have a pair with |r| < min_abs_corr: the set's min |r|
    is then below it too (its pairs include theirs), so the set fails exactly as with full purity, without the
    p^2 correlations of a diffuse set of thousands of variables (most of the time of a fit otherwise)."""
    if idx.size <= probe:
        return False
    spread = idx[np.unique(np.linspace(0, idx.size - 1, probe).astype(int))]
    return bool(np.abs(corr(spread)[np.triu_indices(spread.size, k=1)]).min() < min_abs_corr)


def _purity(idx: np.ndarray, corr) -> tuple[float, float, float]:
    """(min, mean, median) |r| over the distinct pairs of a set's variables (susieR get_purity)."""
    if idx.size == 1:
        return (1.0, 1.0, 1.0)
    r = np.abs(corr(idx)[np.triu_indices(idx.size, k=1)])
    return (float(np.min(r)), float(np.sum(r) / r.size), float(np.median(r)))


def _finite(name: str, a, ndim: int) -> np.ndarray:
    """A float64 array of the given rank with only finite values, else InputError naming the argument."""
    try:
        arr = np.array(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"susie: {name} is not numeric ({exc})") from exc
    if arr.ndim != ndim:
        raise InputError(f"susie: {name} must be {ndim}-dimensional, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"susie: {name} has {int(bad.sum())} non-finite value(s), the first at index {where}")
    return arr


def _positive_int(name: str, value) -> int:
    """value as an int when it is a whole number >= 1 (10 and 10.0 alike, as in R), else InputError."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"susie: {name} must be a positive integer, got {value!r}")
    return int(value)


def _frozen(a: np.ndarray) -> np.ndarray:
    """A read-only view, so a fit cannot be altered after the fact."""
    a = np.asarray(a)
    a.flags.writeable = False
    return a
