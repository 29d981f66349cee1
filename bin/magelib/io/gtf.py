"""GTF parsing: genes, transcript-to-gene map and TSS positions (pyqtl ``gtf_to_tss_bed`` semantics)."""

from __future__ import annotations

import gzip
import os
import re

import pandas as pd

from ..cli import InputError

ATTRIBUTE = re.compile(r'(\S+) "([^"]*)"')


def _open(path: str | os.PathLike):
    return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)


def read_features(path: str | os.PathLike, feature: str) -> pd.DataFrame:
    """Rows of one feature type (gene, transcript, exon) with chrom/start/end/strand and all attributes as columns.

    Coordinates stay 1-based inclusive, as in the GTF.
    """
    rows = []
    try:
        with _open(path) as handle:
            for lineno, line in enumerate(handle, 1):
                if line.startswith("#") or not line.strip():
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 9:
                    raise InputError(f"{path}: line {lineno}: expected 9 tab-separated GTF fields, found {len(fields)}")
                if fields[2] != feature:
                    continue
                row = {"chrom": fields[0], "start": int(fields[3]), "end": int(fields[4]), "strand": fields[6]}
                row.update(ATTRIBUTE.findall(fields[8]))
                rows.append(row)
    except FileNotFoundError as err:
        raise InputError(f"{path}: GTF not found") from err
    if not rows:
        raise InputError(f"{path}: no '{feature}' records")
    return pd.DataFrame(rows)


def genes(path: str | os.PathLike) -> pd.DataFrame:
    """Gene table indexed by gene_id: chrom, start, end, strand, gene_name, gene_type (when present), tss."""
    table = read_features(path, "gene")
    for column in ("gene_name", "gene_type"):
        if column not in table:
            table[column] = table.get("gene_biotype", table["gene_id"]) if column == "gene_type" else table["gene_id"]
    if table["gene_id"].duplicated().any():
        raise InputError(f"{path}: duplicate gene_id '{table.loc[table['gene_id'].duplicated(), 'gene_id'].iat[0]}'")
    table["tss"] = table["start"].where(table["strand"] == "+", table["end"])
    return table.set_index("gene_id")[["chrom", "start", "end", "strand", "gene_name", "gene_type", "tss"]]


def tss_positions(gene_table: pd.DataFrame) -> pd.DataFrame:
    """BED positions for each gene's TSS: start = TSS - 1, end = TSS (0-based half-open, one base)."""
    return pd.DataFrame(
        {"chr": gene_table["chrom"], "start": gene_table["tss"] - 1, "end": gene_table["tss"]},
        index=gene_table.index,
    )


def tx2gene(path: str | os.PathLike) -> pd.Series:
    """transcript_id -> gene_id from the GTF's transcript records (versioned IDs kept)."""
    table = read_features(path, "transcript")
    return table.drop_duplicates("transcript_id").set_index("transcript_id")["gene_id"]
