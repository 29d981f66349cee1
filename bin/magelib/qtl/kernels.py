"""cis-QTL kernels: pure numpy, no I/O.

Residualisation on [1, covariates] (column-pivoted QR, FastQTL's rank tolerance), unit-norm rows, nominal statistics
from correlations, the best-variant rule, the shuffle matrix and the permutation kernel with FastQTL's adaptive
stopping rule. The model and the reproducibility rules are in ``magelib.qtl.cis``.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import qr

from . import beta

PERM_BLOCK = 1000  # shuffles per GEMM block
MAX_BLOCK_COLUMNS = 4096  # grouped mode: phenotypes x shuffles per GEMM block (bounds its memory)
QR_TOLERANCE = 1e-7  # FastQTL / R rank tolerance


class Residualiser:
    """Orthonormal basis Q of [1, covariates] (column-pivoted QR, FastQTL's rank tolerance)."""

    def __init__(self, covariates: np.ndarray):
        n = covariates.shape[0]
        design = np.column_stack([np.ones(n), covariates])
        q, r, _ = qr(design, mode="economic", pivoting=True)
        diag = np.abs(np.diag(r))
        self.rank = int(np.sum(diag > QR_TOLERANCE * diag[0]))
        self.Q = np.ascontiguousarray(q[:, : self.rank])
        self.k = covariates.shape[1]
        self.dropped = design.shape[1] - self.rank  # linearly dependent covariates, left out of the fit

    def extended(self, extra: np.ndarray) -> Residualiser:
        """A residualiser with extra columns (already residualised on Q, samples in columns: rows = variables)."""
        new = object.__new__(Residualiser)
        q, r = np.linalg.qr(extra.T)
        keep = np.abs(np.diag(r)) > QR_TOLERANCE * max(np.abs(np.diag(r)).max(), 1e-300)
        new.Q = np.ascontiguousarray(np.column_stack([self.Q, q[:, keep]]))
        new.rank = new.Q.shape[1]
        new.k = self.k + extra.shape[0]
        new.dropped = 0
        return new

    def residualise(self, rows: np.ndarray) -> np.ndarray:
        """Residuals of each row (samples in columns)."""
        return rows - (rows @ self.Q) @ self.Q.T


def twin_labels(dosage: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with exactly the same values (variants in perfect LD over the
    mapped samples; about 40 % of the cis variants of GEUVADIS chr22)."""
    if len(dosage) == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.ascontiguousarray(dosage).view(np.dtype((np.void, dosage.dtype.itemsize * dosage.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first[inverse.ravel()].astype(np.int64)


def unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit norm (rows with norm ~0, e.g. collinear with the covariates, become 0); returns (scaled, norms)."""
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    scale = np.where(norms > 1e-10 * np.sqrt(rows.shape[1]), 1.0 / np.where(norms > 0, norms, 1), 0.0)
    return rows * scale[:, None], norms


def phenotype_residuals(values: np.ndarray, residualiser: Residualiser) -> tuple[np.ndarray, np.ndarray]:
    """Residualised unit-norm phenotypes and their residual norms."""
    return unit_rows(residualiser.residualise(np.atleast_2d(values)))


def nominal_stats(r: np.ndarray, df: float, y_norm: float, g_norm: np.ndarray) -> dict[str, np.ndarray]:
    """p-value, slope and slope SE from correlations on residuals (FastQTL)."""
    r = np.clip(r, -1.0, 1.0)
    r2 = r * r
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = df * r2 / (1.0 - r2)
        slope = np.where(g_norm > 0, r * y_norm / np.where(g_norm > 0, g_norm, 1), 0.0)
        slope_se = np.abs(slope) / np.sqrt(t2)
    return {"pval_nominal": beta.pvalue_from_r(r, df), "slope": slope, "slope_se": slope_se}


def best_index(r: np.ndarray, distance: np.ndarray) -> int:
    """Largest |r|; ties (within rounding) go to the smaller |distance|, then to the first."""
    absr = np.abs(r)
    top = absr.max()
    tied = np.nonzero(absr >= top * (1 - 1e-12))[0]
    return int(tied[np.argmin(np.abs(distance[tied]))])  # argmin returns the first minimum


def permutation_matrix(n_samples: int, n_perm: int, seed: int) -> np.ndarray:
    """One shuffle of the samples per row, from the seed alone (shared by every phenotype and chunk)."""
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(np.arange(n_samples, dtype=np.int32), (n_perm, 1)), axis=1)


def permuted_max_r(g: np.ndarray, y_centred: np.ndarray, basis: np.ndarray, shuffles: np.ndarray) -> np.ndarray:
    """max |r| over variants (and phenotypes) for each shuffle: the permutation kernel.

    g: variants x samples (float32 or float64, residualised, unit norm); y_centred: phenotypes x samples (centred,
    unit norm, raw); basis: samples x r orthonormal basis of [1, covariates]; shuffles: B x samples.
    Returns B values.
    """
    n_pheno, n = y_centred.shape
    permuted = y_centred[:, shuffles].reshape(-1, n)  # (phenotypes * B) x samples
    projected = permuted @ basis
    denom = np.sqrt(np.maximum(1.0 - np.einsum("ij,ij->i", projected, projected), 1e-30))
    numerator = g @ permuted.astype(g.dtype, copy=False).T  # variants x (phenotypes * B)
    # max |x| as max(max x, -min x): two read-only passes, cheaper than abs() in place and then max
    colmax = np.maximum(numerator.max(axis=0), -numerator.min(axis=0)).astype(float) / denom
    return colmax.reshape(n_pheno, -1).max(axis=0)


def run_permutations(
    g: np.ndarray, y_centred: np.ndarray, basis: np.ndarray, r_obs: float, shuffles: np.ndarray, plan: tuple[int, ...]
) -> np.ndarray:
    """Permuted max |r| with FastQTL's stopping rule: (N,) fixed, or (hits, max) adaptive."""
    block = max(1, min(PERM_BLOCK, MAX_BLOCK_COLUMNS // len(y_centred)))
    limit = plan[-1]
    results, hits = [], 0
    for start in range(0, limit, block):
        values = permuted_max_r(g, y_centred, basis, shuffles[start : min(start + block, limit)])
        if len(plan) == 2:
            better = np.cumsum(values >= abs(r_obs)) + hits
            stop = np.nonzero(better >= plan[0])[0]
            if len(stop):
                results.append(values[: stop[0] + 1])
                break
            hits = int(better[-1])
        results.append(values)
    return np.concatenate(results)


def centred_unit(values: np.ndarray) -> np.ndarray:
    centred = values - values.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    return centred / np.where(norms > 0, norms, 1)[:, None]
