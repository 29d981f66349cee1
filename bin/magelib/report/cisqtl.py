"""MultiQC custom content of the cis-QTL pass: summary table, QQ plot (streamed nominal histogram), beta
approximation and learned degrees of freedom."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..io.atomic import atomic_open

QQ_BINS = np.linspace(0, 50, 2001)  # -log10 p histogram bins for the QQ plot (p < 1e-50 lands in the last bin)


def nominal_log_histogram(nominal_files: list[str]) -> np.ndarray:
    """Counts of -log10(pval_nominal) of every nominal pair in QQ_BINS (streamed; memory does not grow)."""
    import pyarrow.parquet as pq

    counts = np.zeros(len(QQ_BINS) - 1, dtype=np.int64)
    for name in nominal_files:
        for batch in pq.ParquetFile(name).iter_batches(columns=["pval_nominal"], batch_size=1_000_000):
            logp = -np.log10(np.clip(batch.column(0).to_numpy(zero_copy_only=False), 1e-300, 1))
            counts += np.histogram(np.minimum(logp, QQ_BINS[-1] - 1e-9), QQ_BINS)[0]
    return counts


def qq_points(logp_sorted_desc: np.ndarray, n_points: int = 400) -> list[list[float]]:
    """Thinned QQ points [expected -log10 p, observed -log10 p] from observed values sorted largest first."""
    n = len(logp_sorted_desc)
    if n == 0:
        return []
    ranks = np.unique(np.round(np.geomspace(1, n, n_points)).astype(int)) - 1
    expected = -np.log10((ranks + 0.5) / n)
    return [[round(float(e), 4), round(float(o), 4)] for e, o in zip(expected, logp_sorted_desc[ranks], strict=True)]


def qq_from_histogram(counts: np.ndarray, n_points: int = 400) -> list[list[float]]:
    """QQ points from a -log10 p histogram (bin midpoints as observed values)."""
    n = int(counts.sum())
    if n == 0:
        return []
    mids = (QQ_BINS[:-1] + QQ_BINS[1:]) / 2
    cumulative = np.cumsum(counts[::-1])  # number of pairs at or above each bin, largest -log10 p first
    ranks = np.unique(np.round(np.geomspace(1, n, n_points)).astype(int))
    observed = mids[::-1][np.searchsorted(cumulative, ranks)]
    expected = -np.log10((ranks - 0.5) / n)
    return [[round(float(e), 4), round(float(o), 4)] for e, o in zip(expected, observed, strict=True)]


def write_multiqc(
    table: pd.DataFrame, summary: dict, settings: dict, nominal_counts: np.ndarray | None, prefix: str
) -> list[str]:
    """MultiQC custom content: summary table, QQ plot, beta-approximation diagnostics."""
    import json

    unit = "group" if "group_id" in table.columns else "phenotype"
    tested = table[table["pval_beta"].notna()]
    rows = {}
    for scope, s in summary.items():
        rows[scope] = {
            f"{unit}s tested": s["tested"],
            f"significant at FDR {settings['fdr']:g}": s["significant"],
            "pi1 (1 - pi0 of pval_beta)": round(1 - s["pi0"], 4),
            "min-p threshold p_t": s["p_threshold"],
        }
    files = {
        f"{prefix}.summary_mqc.json": {
            "id": "mage_cisqtl_summary",
            "section_name": "cis-QTL summary",
            "description": (
                f"cis-QTL {unit}s at FDR {settings['fdr']:g} ({settings['method']}, {settings['scope']} scope). "
                "pi1 = 1 - pi0 estimated on the beta-approximated permutation p-values (pval_beta). "
                "p_t: the pval_beta cut-off behind the per-phenotype nominal thresholds (GTEx rule)."
            ),
            "plot_type": "table",
            "pconfig": {"id": "mage_cisqtl_summary_table", "title": "cis-QTL: significant phenotypes"},
            "data": rows,
        }
    }
    qq = {
        "pval_beta (one per " + unit + ")": qq_points(np.sort(-np.log10(tested["pval_beta"].clip(lower=1e-300).to_numpy()))[::-1])
    }
    if nominal_counts is not None:
        qq["pval_nominal (all cis pairs)"] = qq_from_histogram(nominal_counts)
    files[f"{prefix}.qq_mqc.json"] = {
        "id": "mage_cisqtl_qq",
        "section_name": "cis-QTL QQ plot",
        "description": "Observed vs expected -log10 p (thinned): beta-approximated permutation p-values and all nominal pairs.",
        "plot_type": "linegraph",
        "pconfig": {
            "id": "mage_cisqtl_qq_plot",
            "title": "cis-QTL: QQ plot",
            "xlab": "expected -log10 p",
            "ylab": "observed -log10 p",
        },
        "data": qq,
    }
    thin = tested.iloc[np.unique(np.linspace(0, len(tested) - 1, min(len(tested), 2000)).astype(int))] if len(tested) else tested
    files[f"{prefix}.beta_fit_mqc.json"] = {
        "id": "mage_cisqtl_beta_fit",
        "section_name": "cis-QTL beta approximation",
        "description": "Empirical permutation p-value vs beta-approximated p-value (-log10), one point per tested unit "
        "(thinned). "
        "They should agree where pval_perm is resolved (above 1 / number of permutations).",
        "plot_type": "scatter",
        "pconfig": {
            "id": "mage_cisqtl_beta_fit_plot",
            "title": "cis-QTL: pval_perm vs pval_beta",
            "xlab": "-log10 pval_beta",
            "ylab": "-log10 pval_perm",
        },
        "data": {
            str(r.phenotype_id): {"x": round(-math.log10(max(r.pval_beta, 1e-300)), 4), "y": round(-math.log10(r.pval_perm), 4)}
            for r in thin.itertuples()
        },
    }
    files[f"{prefix}.true_df_mqc.json"] = {
        "id": "mage_cisqtl_true_df",
        "section_name": "cis-QTL learned degrees of freedom",
        "description": "Effective degrees of freedom learned from the permutations (true_df) against the number of cis variants; "
        "the nominal df is N - 2 - covariates.",
        "plot_type": "scatter",
        "pconfig": {"id": "mage_cisqtl_true_df_plot", "title": "cis-QTL: true_df", "xlab": "cis variants", "ylab": "true_df"},
        "data": {str(r.phenotype_id): {"x": int(r.num_var), "y": round(float(r.true_df), 3)} for r in thin.itertuples()},
    }
    for name, content in files.items():
        with atomic_open(name) as handle:
            json.dump(content, handle, indent=1)
    return list(files)
