"""Hidden factors for QTL mapping: PCA of the phenotype matrix and the Buja-Eyuboglu rule for how many PCs to keep.

PCA replaces PEER (not installable here): Zhou et al. 2022 (Genome Biology 23:210, "PCA outperforms popular hidden
variable inference methods for molecular QTL mapping") show PCA is as good or better, faster and deterministic.
The number of PCs follows their Buja-Eyuboglu (BE) procedure (PCAForQTL ``runBE``):

1. standardise each gene (centre, unit SD) and compute the proportion of variance explained (PVE) of every PC;
2. B times: permute each gene independently across samples, recompute the PVE spectrum;
3. p_k = (1 + #{b : PVE_perm[b, k] >= PVE[k]}) / (B + 1), made non-decreasing in k (cumulative maximum);
4. keep the K PCs with p_k <= alpha (a leading run, since p is non-decreasing), capped at a maximum.

Unlike PCAForQTL we compare unrounded PVEs (``summary(prcomp)`` rounds them to 5 decimals) and use a seeded numpy
Generator, so a rerun is identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cli import InputError


def standardize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """features x samples -> (samples x features, centred and scaled to unit SD; mask of features kept).

    Constant features (SD 0, e.g. a gene whose INT values are all tied) carry no information and are dropped.
    """
    values = np.asarray(values, dtype=float)
    sd = values.std(axis=1, ddof=1)
    varying = sd > 0
    kept = values[varying]
    return ((kept - kept.mean(axis=1, keepdims=True)) / sd[varying, None]).T, varying


def regress_out(values: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """Residuals of each feature (row of features x samples) on an intercept and the covariates (samples x k)."""
    design = np.column_stack([np.ones(values.shape[1]), covariates])
    coef, *_ = np.linalg.lstsq(design, values.T, rcond=None)
    return values - (design @ coef).T


def pve_spectrum(x: np.ndarray) -> np.ndarray:
    """Proportion of variance explained by each PC of a centred samples x features matrix (descending)."""
    gram = x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x
    eigenvalues = np.clip(np.linalg.eigvalsh(gram)[::-1], 0, None)
    return eigenvalues / eigenvalues.sum()


def n_components(x: np.ndarray) -> int:
    """PCs with non-trivial variance after centring: min(samples - 1, features)."""
    return min(x.shape[0] - 1, x.shape[1])


def pca_scores(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores (samples x k, as prcomp's ``x``) and PVE of all PCs of a centred samples x features matrix.

    Uses the eigendecomposition of the smaller cross-product (samples x samples for expression data), much cheaper than
    an SVD of the full matrix; signs are fixed so that each PC's largest absolute score is positive.
    """
    if x.shape[0] <= x.shape[1]:
        eigenvalues, vectors = np.linalg.eigh(x @ x.T)
        eigenvalues, vectors = np.clip(eigenvalues[::-1], 0, None), vectors[:, ::-1]
        scores = vectors[:, :k] * np.sqrt(eigenvalues[:k])
    else:
        eigenvalues, vectors = np.linalg.eigh(x.T @ x)
        eigenvalues, vectors = np.clip(eigenvalues[::-1], 0, None), vectors[:, ::-1]
        scores = x @ vectors[:, :k]
    if k:
        pivot = scores[np.argmax(np.abs(scores), axis=0), np.arange(k)]
        scores = scores * np.where(pivot < 0, -1.0, 1.0)
    return scores, eigenvalues / eigenvalues.sum()


@dataclass
class BujaEyuboglu:
    """Observed PVE, permuted PVE (permutations x PCs), p-values and the number of PCs selected."""

    pve: np.ndarray
    pve_permuted: np.ndarray
    p_values: np.ndarray
    n_selected: int


def buja_eyuboglu(x: np.ndarray, n_permutations: int, alpha: float, rng: np.random.Generator) -> BujaEyuboglu:
    """BE permutation test on a standardised samples x features matrix (see the module docstring for the rule)."""
    if (1 / (n_permutations + 1)) > alpha:
        raise InputError(
            f"Buja-Eyuboglu: with {n_permutations} permutations no p-value can reach alpha = {alpha}; "
            f"use at least {int(np.ceil(1 / alpha - 1))} permutations"
        )
    d = n_components(x)
    pve = pve_spectrum(x)[:d]
    permuted = np.empty((n_permutations, d))
    for b in range(n_permutations):
        # rng.permuted(axis=0) shuffles every feature (column) independently across samples.
        permuted[b] = pve_spectrum(rng.permuted(x, axis=0))[:d]
    p_values = np.maximum.accumulate((1 + (permuted >= pve).sum(axis=0)) / (n_permutations + 1))
    return BujaEyuboglu(pve=pve, pve_permuted=permuted, p_values=p_values, n_selected=int((p_values <= alpha).sum()))
