"""MultiQC custom content written by the Python steps (ids start with ``mage_``; assets/multiqc_config.yml orders them)."""

from __future__ import annotations

import os

import pandas as pd

from ..io.atomic import atomic_open

# Colour-blind-safe (Okabe-Ito, then Tableau) colours, given to groups in sorted order.
PALETTE = [
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
]


def scatter_mqc(
    plot_id: str, section: str, description: str, points: pd.DataFrame, groups: pd.Series, xlab: str, ylab: str
) -> dict:
    """MultiQC custom-content scatter: ``points`` (samples x [x, y]) coloured by ``groups`` (missing = 'unknown')."""
    labels = groups.reindex(points.index).fillna("unknown").replace("", "unknown")
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(labels.unique()))}
    data = {
        str(sample): {"x": round(float(x), 6), "y": round(float(y), 6), "color": colours[labels[sample]], "group": labels[sample]}
        for sample, (x, y) in zip(points.index, points.to_numpy()[:, :2], strict=True)
    }
    return {
        "id": plot_id,
        "section_name": section,
        "description": description,
        "plot_type": "scatter",
        "pconfig": {"id": f"{plot_id}_plot", "title": section, "xlab": xlab, "ylab": ylab},
        "data": data,
    }


def write_table(table: pd.DataFrame, path: str | os.PathLike, section_id: str, section_name: str, description: str) -> None:
    """A custom-content table: a commented YAML header, then the TSV (first column names the rows)."""
    header = [
        f"# id: '{section_id}'",
        f"# section_name: '{section_name}'",
        f"# description: '{description}'",
        "# plot_type: 'table'",
        "# pconfig:",
        f"#     id: '{section_id}_table'",
        f"#     namespace: '{section_name}'",
    ]
    with atomic_open(path) as handle:
        handle.write("\n".join(header) + "\n")
        table.to_csv(handle, sep="\t", index=False, lineterminator="\n")
