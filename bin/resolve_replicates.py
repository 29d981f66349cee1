#!/usr/bin/env python3
"""Resolve libraries to individuals: one focal library per individual for QTL mapping, summed counts for DE.

Only the libraries that passed the identity gate are used. --selection max_reads keeps each individual's library
with the most read pairs (MAGE: HG00237-7-2 of HG00237's three); first keeps the first one in the sample table.

Outputs in --outdir: focal_libraries.tsv (individual, library, read_pairs, n_libraries, reason);
gene_counts.focal.tsv, gene_tpm.focal.tsv, gene_lengths.focal.tsv (columns = individuals); gene_counts.collapsed.tsv
(counts summed over each individual's passing libraries, as DESeq2::collapseReplicates); replicates.status.tsv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.identity.replicates import (
    SELECTIONS,
    choose_focal,
    collapse_counts,
    focal_matrix,
    read_pairs_table,
    replicate_status,
)
from magelib.identity.sex import read_sample_table
from magelib.io.atomic import atomic_open
from magelib.io.tables import read_matrix, write_matrix


def passing_libraries(samples: pd.DataFrame, passing: Path | None) -> pd.DataFrame:
    """Sample-table rows (sample, individual) of the libraries that passed the gate, in sample-table order."""
    if passing is None:
        return samples[["sample", "individual"]].reset_index(drop=True)
    try:
        table = pd.read_csv(passing, sep="\t", dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{passing}: cannot read the passing libraries ({err})") from err
    if "sample" not in table.columns:
        raise InputError(f"{passing}: no 'sample' column")
    unknown = [lib for lib in table["sample"] if lib not in samples.index]
    if unknown:
        raise InputError(f"{passing}: library '{unknown[0]}' is not in the sample table")
    keep = set(table["sample"])
    if not keep:
        raise InputError(f"{passing}: no library passed the identity gate")
    return samples.loc[samples["sample"].isin(keep), ["sample", "individual"]].reset_index(drop=True)


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--counts", type=Path, required=True, help="gene_counts.tsv (genes x libraries)")
    p.add_argument("--tpm", type=Path, required=True, help="gene_tpm.tsv (genes x libraries)")
    p.add_argument("--lengths", type=Path, required=True, help="gene_lengths.tsv (genes x libraries)")
    p.add_argument(
        "--read-pairs", type=Path, nargs="+", required=True, help="<library>.fastq_check.json files or a TSV (sample, read_pairs)"
    )
    p.add_argument("--samples", type=Path, required=True, help="sample table: sample, individual, ...")
    p.add_argument("--passing", type=Path, help="identity_passing.tsv from the identity gate (default: every library)")
    p.add_argument("--selection", choices=SELECTIONS, default="max_reads", help="how the focal library is chosen")
    p.add_argument("--outdir", type=Path, default=Path("."), help="output directory")
    args = p.parse_args(argv)

    samples = read_sample_table(args.samples)
    libraries = passing_libraries(samples, args.passing)
    read_pairs = read_pairs_table(args.read_pairs)
    focal = choose_focal(libraries, read_pairs, args.selection)

    # Everything is computed before anything is written, so bad input leaves no output behind.
    counts = read_matrix(args.counts)
    outputs = {
        f"{name}.focal.tsv": focal_matrix(matrix, focal, str(path))
        for name, path, matrix in (
            ("gene_counts", args.counts, counts),
            ("gene_tpm", args.tpm, read_matrix(args.tpm)),
            ("gene_lengths", args.lengths, read_matrix(args.lengths)),
        )
    }
    outputs["gene_counts.collapsed.tsv"] = collapse_counts(counts, libraries, str(args.counts))
    status = replicate_status(libraries, focal, read_pairs, args.selection)

    args.outdir.mkdir(parents=True, exist_ok=True)
    for name, matrix in outputs.items():
        write_matrix(matrix, args.outdir / name)
    with atomic_open(args.outdir / "focal_libraries.tsv") as handle:
        focal.to_csv(handle, sep="\t", index=False)
    with atomic_open(args.outdir / "replicates.status.tsv") as handle:
        status.to_csv(handle, sep="\t", index=False)
    replicated = int((focal["n_libraries"] > 1).sum())
    print(
        f"{len(libraries)} libraries -> {len(focal)} individuals ({replicated} with replicates, selection {args.selection})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(run(main))
