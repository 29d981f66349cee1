"""MultiQC custom content written by the Python steps (ids start with ``mage_``; assets/multiqc_config.yml orders them)."""

from __future__ import annotations

import os

import pandas as pd

from .io import atomic_open


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
