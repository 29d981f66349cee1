"""Conditionally independent cis-QTLs: forward selection then backward elimination (tensorQTL map_independent, GTEx).

For each significant phenotype (or group) of the permutation table (qval <= fdr), with the significance threshold
t = the largest pval_beta among significant ones:
- forward: the top variant becomes a covariate and the permutation pass is rerun; the new top variant is kept while
  its pval_beta <= t (at most MAX_SIGNALS signals, FastQTL's analysis depth);
- backward: each kept variant is tested again with all the other kept variants as covariates and reported, with its
  rank, if its pval_beta is still <= t and its top variant was not already reported.
A phenotype with a single signal reports its permutation-pass row with rank 1.

Adding variants as covariates uses Frisch-Waugh-Lovell: the window genotypes are already residualised on the
covariates, so the residualiser is extended by the (orthonormalised) residualised dosages of the kept variants,
and df = N - 2 - (covariates + kept variants).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cli import InputError
from .cis import permutation_row
from .kernels import permutation_matrix, unit_rows
from .outputs import table_columns
from .problem import Problem, Unit
from .windows import GenotypeWindow
from .workers import map_units

MAX_SIGNALS = 10


def map_independent(problem: Problem, table: pd.DataFrame, fdr: float, workers: int = 1) -> pd.DataFrame:
    """Conditionally independent signals (forward selection, then backward elimination) as tensorQTL/GTEx.

    ``table`` is the permutation table with ``qval``. The significance threshold is the largest pval_beta
    among units with qval <= fdr. Forward: the unit's top variant becomes a covariate and the permutation pass is
    repeated; its new top variant is kept while its pval_beta <= threshold (at most MAX_SIGNALS). Backward: each
    kept variant is re-tested with all the others as covariates and reported (with its rank) if still significant.
    """
    if "qval" not in table.columns:
        raise InputError("the permutation table given to independent mode has no 'qval' column (run qtl_fdr.py first)")
    key = "group_id" if problem.groups is not None else "phenotype_id"
    significant = table[table["qval"] <= fdr]
    columns = table_columns(problem.groups is not None) + ["rank"]
    if significant.empty:
        return pd.DataFrame(columns=columns)
    threshold = float(significant["pval_beta"].max())
    top = {row[key]: row for row in significant.to_dict("records")}
    settings = problem.settings
    shuffles = permutation_matrix(len(problem.samples), settings.permutations[-1], settings.seed)

    def task(problem: Problem, unit: Unit) -> list[dict]:
        name = unit.group if unit.group is not None else unit.ids[0]
        return _independent_unit(problem, unit, top[name], threshold, shuffles) if name in top else []

    rows = [row for per_unit in map_units(problem, task, workers) for row in per_unit]
    return pd.DataFrame(rows, columns=columns)


def _independent_unit(problem: Problem, unit: Unit, top_row: dict, threshold: float, shuffles: np.ndarray) -> list[dict]:
    first_variant = top_row["variant_id"]
    window = problem.cis_window(unit, int(unit.tss[0]))
    index = {vid: i for i, vid in enumerate(window.ids)}
    if first_variant not in index:
        raise InputError(f"variant '{first_variant}' of '{unit.ids[0]}' in the permutation table is not in its cis window")

    def conditional(selected: list[int]) -> dict:
        residualiser = problem.residualiser.extended(window.g[selected])
        g, norm = unit_rows(residualiser.residualise(window.g))
        conditioned = GenotypeWindow(
            window.pos, window.ids, window.af, window.ma_samples, window.ma_count, [g], norm * window.norm, window.twin
        )
        df = len(problem.samples) - 2 - residualiser.k
        return permutation_row(problem, unit, conditioned, residualiser, df, shuffles)

    forward = [index[first_variant]]
    results: list[dict] = []
    while len(forward) < MAX_SIGNALS:
        row = conditional(forward)
        if not (row["pval_beta"] <= threshold) or row["variant_id"] not in index or index[row["variant_id"]] in forward:
            break
        forward.append(index[row["variant_id"]])
    if len(forward) == 1:  # one signal: the permutation-pass row itself
        return [{**{c: top_row.get(c) for c in table_columns(problem.groups is not None)}, "rank": 1}]
    seen = set()
    for rank, variant in enumerate(forward, 1):
        others = [v for v in forward if v != variant]
        row = conditional(others)
        if row["pval_beta"] <= threshold and row["variant_id"] not in seen:
            results.append(dict(row, rank=rank))
            seen.add(row["variant_id"])
    return results
