"""MultiQC custom content of the fine-mapping step: a summary, credible sets per phenotype, credible-set sizes, the
PIP of the lead variants, and every phenotype that did not converge or failed (never dropped silently)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..io.atomic import atomic_open
from .multiqc import write_table

SIZE_BINS = [(1, 1), (2, 5), (6, 10), (11, 50), (51, None)]
PIP_BINS = np.round(np.linspace(0, 1, 11), 1)


def _bargraph(section_id: str, name: str, description: str, counts: dict[str, int], xlab: str) -> dict:
    return {
        "id": section_id,
        "section_name": name,
        "description": description,
        "plot_type": "bargraph",
        "pconfig": {"id": f"{section_id}_plot", "title": name, "ylab": xlab, "cpswitch": False},
        "data": {label: {"count": int(n)} for label, n in counts.items()},
    }


def size_counts(sizes: pd.Series) -> dict[str, int]:
    out = {}
    for lo, hi in SIZE_BINS:
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi else f">{lo - 1}")
        out[label] = int(((sizes >= lo) & (sizes <= (hi if hi else np.inf))).sum())
    return out


def pip_counts(pips: pd.Series) -> dict[str, int]:
    labels = [f"{a:.1f}-{b:.1f}" for a, b in zip(PIP_BINS[:-1], PIP_BINS[1:], strict=True)]
    binned = pd.cut(pips.astype(float), PIP_BINS, labels=labels, include_lowest=True)
    return {label: int(n) for label, n in binned.value_counts(sort=False).items()}


def write_multiqc(summary: pd.DataFrame, status: pd.DataFrame, prefix: str, label: str) -> list[str]:
    """Files PREFIX.finemap_*_mqc.*; label names the QTL type ('eqtl', 'sqtl') in section names and ids."""
    sets_per = summary.groupby("molecular_trait_id").size().reindex(status["molecular_trait_id"], fill_value=0)
    counts = {
        "phenotypes fine-mapped": len(status),
        "with >= 1 credible set": int((sets_per > 0).sum()),
        "credible sets": len(summary),
        "single-variant credible sets": int((summary["cs_size"] == 1).sum()),
        "not converged": int((status["status"] == "not_converged").sum()),
        "failed or no variants": int(status["status"].isin(["failed", "no_variants"]).sum()),
    }
    files = {
        f"{prefix}.finemap_summary_mqc.json": {
            "id": f"mage_finemap_{label}_summary",
            "section_name": f"Fine-mapping ({label}): summary",
            "description": "SuSiE credible sets of the significant phenotypes (MAGE §2.20-2.21).",
            "plot_type": "table",
            "pconfig": {"id": f"mage_finemap_{label}_summary_table", "title": f"Fine-mapping ({label})"},
            "data": {label: counts},
        },
        f"{prefix}.finemap_sets_per_phenotype_mqc.json": _bargraph(
            f"mage_finemap_{label}_sets_per_phenotype", f"Fine-mapping ({label}): credible sets per phenotype",
            "Number of 95 % credible sets per fine-mapped phenotype.",
            {str(k): int(v) for k, v in sets_per.value_counts().sort_index().items()}, "phenotypes",
        ),
        f"{prefix}.finemap_cs_size_mqc.json": _bargraph(
            f"mage_finemap_{label}_cs_size", f"Fine-mapping ({label}): credible-set size",
            "Variants per credible set.", size_counts(summary["cs_size"]), "credible sets",
        ),
        f"{prefix}.finemap_lead_pip_mqc.json": _bargraph(
            f"mage_finemap_{label}_lead_pip", f"Fine-mapping ({label}): PIP of the lead variants",
            "Posterior inclusion probability of each credible set's lead variant.", pip_counts(summary["lead_pip"]),
            "credible sets",
        ),
    }  # fmt: skip
    for name, content in files.items():
        with atomic_open(name) as handle:
            json.dump(content, handle, indent=1)
    problems = status[status["status"] != "converged"][["molecular_trait_id", "status", "reason", "n_variants"]]
    failures = f"{prefix}.finemap_failures_mqc.tsv"
    write_table(
        problems
        if len(problems)
        else pd.DataFrame([{"molecular_trait_id": "none", "status": "every fit converged", "reason": "-", "n_variants": 0}]),
        failures,
        f"mage_finemap_{label}_failures",
        f"Fine-mapping ({label}): not converged or failed",
        "Every selected phenotype whose fit did not converge, had no cis variant or failed, with the reason.",
    )
    return [*files, failures]


AFC_BINS = np.round(np.arange(-3.0, 3.01, 0.25), 2)


def write_afc_multiqc(table: pd.DataFrame, status: pd.DataFrame, prefix: str, label: str) -> list[str]:
    """The distribution of log2 aFC of the lead variants (|log2 aFC| above 3 lands in the end bins), and the genes
    skipped or failed, with the reason."""
    values = table["log2_aFC"].dropna().clip(AFC_BINS[0], AFC_BINS[-1])
    counts = np.histogram(values, AFC_BINS)[0]
    mids = (AFC_BINS[:-1] + AFC_BINS[1:]) / 2
    histogram = {
        "id": f"mage_afc_{label}_distribution",
        "section_name": f"Effect sizes ({label}): log2 aFC",
        "description": "Allelic fold change (aFC-n, MAGE §2.22) of the lead variants of the credible sets: number of "
        f"variants per bin of log2 aFC. {len(values)} estimated, "
        f"{int((status['status'] != 'ok').sum())} genes skipped or failed (see the table below).",
        "plot_type": "linegraph",
        "pconfig": {"id": f"mage_afc_{label}_distribution_plot", "title": f"Effect sizes ({label}): log2 aFC",
                    "xlab": "log2 aFC", "ylab": "lead variants"},
        "data": {"lead variants": {round(float(m), 3): int(c) for m, c in zip(mids, counts, strict=True)}},
    }  # fmt: skip
    name = f"{prefix}.afc_distribution_mqc.json"
    with atomic_open(name) as handle:
        json.dump(histogram, handle, indent=1)
    problems = status[status["status"] != "ok"][["gene_id", "status", "reason"]]
    none = pd.DataFrame([{"gene_id": "none", "status": "every gene estimated", "reason": "-"}])
    table_name = f"{prefix}.afc_status_mqc.tsv"
    write_table(
        problems if len(problems) else none,
        table_name,
        f"mage_afc_{label}_status",
        f"Effect sizes ({label}): genes skipped or failed",
        "Genes without an aFC estimate and why (chrX outside the PARs, no complete samples, ...).",
    )
    return [name, table_name]
