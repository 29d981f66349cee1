"""cis-QTL mapping engine: residualisation, nominal scan, permutations (FastQTL numerics, tensorQTL-style kernels).

Model (FastQTL, GTEx fork): phenotypes and genotypes are residualised on [1, covariates] (column-pivoted QR,
tolerance 1e-7 as FastQTL/R) and scaled to unit norm, so r = g . y; df = N - 2 - k (k covariates after dummy
coding); t^2 = df r^2 / (1 - r^2); p = P(F(1, df) > t^2); slope = r sd(y_res) / sd(g_res); slope_se = |slope| / |t|.
The cis window of a phenotype is |POS - (BED start + 1)| <= window; variants need MAF >= maf from rounded dosages.
The best variant has the largest |r|; ties go to the smaller |distance| (then the upstream one).

Permutations follow FastQTL: the *raw* phenotype is shuffled and then residualised. With y centred and scaled,
r_perm = g . (P y) / ||M P y|| where ||M P y||^2 = 1 - ||Q' P y||^2 (Q spans [1, covariates]), so a block of B
shuffles of one phenotype is one GEMM (cis variants x samples) x (samples x B), in float32 (checked against float64
in tests), followed by a column max of |r|. Adaptive stopping as FastQTL ``--permute 1000 10000``: blocks are
computed until 1000 shuffles beat the observed |r| or 10,000 are done, and the result is cut at the exact shuffle
where the rule stops, so the block size does not change the answer. Grouped mode (sQTL) applies one shuffle to all
phenotypes of a group, the window anchored on the group's first phenotype, and takes the max over all of them.

Variants with identical genotypes ("twins", perfect LD) enter the permutation GEMM once: they share |r| under
every shuffle and only the max is needed. Units run in forked worker processes (``--threads``), each with
single-threaded BLAS.

Reproducibility: one shuffle matrix per run, drawn from ``--seed`` only (the same for every phenotype, as tensorQTL),
and every matrix product has operands determined by the phenotype alone (genotypes are residualised in fixed
genomic bins, from which each window is assembled), because BLAS results depend on operand shapes; BLAS never
splits a sum across threads. So a rerun, any ``--chunk`` split and any ``--threads`` give byte-identical results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cli import log
from . import beta
from .kernels import (
    Residualiser,
    best_index,
    centred_unit,
    nominal_stats,
    permutation_matrix,
    phenotype_residuals,
    run_permutations,
)
from .outputs import PERMUTATION_COLUMNS, table_columns
from .problem import Problem, Unit
from .windows import GenotypeWindow, kernel_rows
from .workers import map_units


@dataclass
class ScanResult:
    """Observed statistics of a unit in its window."""

    r: np.ndarray  # phenotypes x variants
    y_norm: np.ndarray
    best_pheno: int
    best_var: int
    distance: np.ndarray  # phenotypes x variants


def scan(unit: Unit, window: GenotypeWindow, residualiser: Residualiser, anchor: int) -> ScanResult:
    y, y_norm = phenotype_residuals(unit.values, residualiser)
    r = window.correlate(y)
    distance = window.pos[None, :] - np.broadcast_to(anchor, (len(y), 1))
    flat = best_index(r.ravel(), np.broadcast_to(distance, r.shape).ravel())
    p, v = divmod(flat, r.shape[1])
    return ScanResult(r, y_norm, p, v, distance)


def permutation_row(
    problem: Problem, unit: Unit, window: GenotypeWindow, residualiser: Residualiser, df: float, shuffles: np.ndarray
) -> dict:
    """The permutation-table row of one unit (phenotype or group)."""
    anchor = int(unit.tss[0])
    row: dict = {c: np.nan for c in PERMUTATION_COLUMNS}
    row.update(
        phenotype_id=unit.ids[0], num_var=len(window), variant_id=None, num_perm=0, phenotype_chr=unit.chrom, phenotype_tss=anchor
    )
    if unit.group is not None:
        row.update(group_id=unit.group, group_size=len(unit.ids))
    if len(window) == 0:
        return row
    result = scan(unit, window, residualiser, anchor)
    p, v = result.best_pheno, result.best_var
    r_obs = float(result.r[p, v])
    settings = problem.settings
    kernel = kernel_rows(window, settings.float32)
    r_perm = run_permutations(kernel, centred_unit(unit.values), residualiser.Q, r_obs, shuffles, settings.permutations)
    stats = nominal_stats(np.array([r_obs]), df, result.y_norm[p], window.norm[v : v + 1])
    row["kernel_rows"] = len(kernel)  # logged, not written
    row.update(beta.beta_approximation(r_perm, r_obs, df, len(window)))
    row.update(
        phenotype_id=unit.ids[p],
        variant_id=window.ids[v],
        tss_distance=int(window.pos[v] - anchor),
        ma_samples=int(window.ma_samples[v]),
        ma_count=int(window.ma_count[v]),
        af=float(window.af[v]),
        pval_nominal=float(stats["pval_nominal"][0]),
        slope=float(stats["slope"][0]),
        slope_se=float(stats["slope_se"][0]),
        pval_perm=(np.sum(r_perm >= abs(r_obs)) + 1) / (len(r_perm) + 1),
        num_perm=len(r_perm),
    )
    return row


def map_permutations(problem: Problem, workers: int = 1) -> pd.DataFrame:
    """Permutation pass over the chunk: one row per phenotype (or group)."""
    settings = problem.settings
    shuffles = permutation_matrix(len(problem.samples), settings.permutations[-1], settings.seed)

    def task(problem: Problem, unit: Unit) -> dict:
        window = problem.cis_window(unit, int(unit.tss[0]))
        return permutation_row(problem, unit, window, problem.residualiser, problem.df, shuffles)

    rows = list(map_units(problem, task, workers))
    kernel_rows, cis_variants = sum(r.get("kernel_rows", 0) for r in rows), sum(r["num_var"] for r in rows)
    log(f"permutation kernel: {kernel_rows} distinct genotype rows for {cis_variants} cis variants (twins collapsed)")
    return pd.DataFrame(rows, columns=table_columns(problem.groups is not None))


def map_nominal(problem: Problem, workers: int = 1) -> Iterator[tuple[str, pd.DataFrame]]:
    """Nominal pass: yields (chromosome, all cis pairs of one phenotype)."""
    for pairs in map_units(problem, nominal_pairs, workers):
        yield from pairs


def nominal_pairs(problem: Problem, unit: Unit) -> list[tuple[str, pd.DataFrame]]:
    """(chromosome, all cis pairs) of each phenotype of a unit."""
    out = []
    for j, pid in enumerate(unit.ids):
        anchor = int(unit.tss[j])
        window = problem.cis_window(unit, anchor)
        if len(window) == 0:
            continue
        y, y_norm = phenotype_residuals(unit.values[j], problem.residualiser)
        r = window.correlate(y)[0]
        stats = nominal_stats(r, problem.df, y_norm[0], window.norm)
        pairs = {
            "phenotype_id": pid,
            "variant_id": window.ids,
            "tss_distance": (window.pos - anchor).astype(np.int32),
            "af": window.af.astype(np.float32),
            "ma_samples": window.ma_samples.astype(np.int32),
            "ma_count": window.ma_count.astype(np.int32),
            "pval_nominal": stats["pval_nominal"],
            "slope": stats["slope"].astype(np.float32),
            "slope_se": stats["slope_se"].astype(np.float32),
        }
        out.append((unit.chrom, pd.DataFrame(pairs)))
    return out
