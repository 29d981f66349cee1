#!/usr/bin/env python3
"""Assemble the QTL covariate file (FastQTL format) from genotype PCs, expression PCs and known covariates.

Rows: genotype_PC1..k, expression_PC1..m (from hidden_factors.py), then the known covariates coded as numbers
(sex: female = 0, male = 1; categorical columns as k - 1 dummies against the first level in sorted order).
Columns: the phenotype BED's samples, in its order. Every input is joined by sample ID, never by position.
Writes PREFIX.covariates.txt and PREFIX.genotype_pca_mqc.json (genotype PC1 vs PC2 coloured by population).
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.covariates import assemble
from magelib.io import tables
from magelib.io.atomic import atomic_open
from magelib.report import multiqc


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--phenotypes", required=True, help="phenotype BED whose sample columns fix the sample order")
    p.add_argument("--genotype-pcs", required=True, help="plink2 .eigenvec of the genotypes")
    p.add_argument("--n-genotype-pcs", type=int, default=5, help="genotype PCs to include (MAGE: 5)")
    p.add_argument("--hidden-factors", help="expression factors in FastQTL format (hidden_factors.py)")
    p.add_argument("--samples", required=True, help="sample table TSV (sample, individual, population, sex, batch...)")
    p.add_argument("--focal", required=True, help="focal_libraries.tsv (individual, library): the library used per individual")
    p.add_argument("--known-covariates", default="sex", help="comma-separated sample-table columns to add ('' for none)")
    p.add_argument("--prefix", default="expression", help="output prefix")
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.n_genotype_pcs < 0:
        raise InputError(f"--n-genotype-pcs must be >= 0, not {args.n_genotype_pcs}")
    order = assemble.bed_samples(args.phenotypes)
    pcs = assemble.read_eigenvec(args.genotype_pcs)
    parts = [assemble.genotype_pc_rows(pcs, order, args.n_genotype_pcs, args.genotype_pcs)]
    if args.hidden_factors:
        parts.append(assemble.align(assemble.read_factors(args.hidden_factors), order, args.hidden_factors))
    meta = assemble.individual_metadata(args.samples, args.focal)
    columns = [c.strip() for c in args.known_covariates.split(",") if c.strip()]
    source = f"{args.samples} (via {args.focal})"
    known, notes = assemble.encode_known(meta, columns, source)
    parts.append(assemble.align(known, order, source))
    table, constant = assemble.drop_constant(assemble.assemble(parts))
    for name in constant:
        assemble.warn(f"covariate '{name}' has the same value in every sample and is dropped")
    assemble.check_collinearity(table)
    tables.write_covariates(table, f"{args.prefix}.covariates.txt")

    if pcs.shape[1] >= 2 and set(order) <= set(pcs.index):
        groups = meta["population"] if "population" in meta.columns else pd.Series(dtype=str)
        plot = multiqc.scatter_mqc(
            "mage_genotype_pca",
            "Genotype PCs",
            "Genotype PC1 vs PC2 (plink2, autosomal SNPs), coloured by population.",
            pcs.loc[order, ["PC1", "PC2"]],
            groups,
            "PC1",
            "PC2",
        )
        with atomic_open(f"{args.prefix}.genotype_pca_mqc.json") as handle:
            json.dump(plot, handle, indent=1)
    for note in notes:
        print(note, file=sys.stderr)
    print(f"{len(table)} covariates for {len(order)} samples: {', '.join(table.index)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
