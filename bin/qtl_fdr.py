#!/usr/bin/env python3
"""q-values and per-phenotype nominal thresholds over all permutation chunks; eGenes and significant pairs.

Concatenates the permutation tables (in the order given), adds qval (Storey q-value as R qvalue, or BH) on pval_beta
and pval_nominal_threshold (GTEx rule), over all phenotypes at once (default) or per chromosome (--per-chromosome,
what MAGE's per-chromosome FastQTL runs amounted to). Writes:
  PREFIX.cis_qtl.fdr.txt.gz        every phenotype (or group) with qval and pval_nominal_threshold
  PREFIX.egenes.txt.gz             rows with qval <= --fdr
  PREFIX.significant_pairs.txt.gz  nominal pairs of those with pval_nominal < threshold (with --nominal)
  PREFIX.*_mqc.json                MultiQC content (counts, pi1, QQ plot, beta-approximation diagnostics)
"""

from __future__ import annotations

import sys

import pandas as pd

from magelib.cli import InputError, log, parser, run
from magelib.qtl import outputs
from magelib.qtl.qvalue import annotate
from magelib.report import cisqtl


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--permutation", nargs="+", required=True, help="permutation tables (cis_qtl.py permutation), e.g. one per chunk"
    )
    p.add_argument("--nominal", nargs="*", default=[], help="nominal parquets (cis_qtl.py nominal) for the significant pairs")
    p.add_argument("--groups", default=None, help="phenotype groups file (sQTL): pairs use the threshold of their group")
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument("--fdr", type=float, default=0.05, help="false discovery rate for significant phenotypes")
    p.add_argument(
        "--method", choices=["qvalue", "bh"], default="qvalue", help="Storey q-values (R qvalue defaults) or Benjamini-Hochberg"
    )
    p.add_argument(
        "--lambda",
        dest="lam",
        type=float,
        default=None,
        help="fixed lambda for pi0 (default: R qvalue's smoother over 0.05..0.95)",
    )
    p.add_argument(
        "--per-chromosome",
        action="store_true",
        help="FDR within each chromosome (MAGE's per-chromosome runs) instead of genome-wide",
    )
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if not 0 < args.fdr < 1:
        raise InputError("--fdr must be in (0, 1)")
    tables = [outputs.read_table(path) for path in args.permutation]
    for path, table in zip(args.permutation, tables, strict=True):
        missing = [c for c in outputs.PERMUTATION_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(f"{path}: not a permutation table (column '{missing[0]}' missing)")
    table = pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else tables[0]
    key = "group_id" if "group_id" in table.columns else "phenotype_id"
    duplicated = table[key][table[key].duplicated()]
    if len(duplicated):
        raise InputError(f"{key} '{duplicated.iat[0]}' appears in more than one permutation row (overlapping chunks?)")
    if table["pval_beta"].notna().sum() == 0:
        raise InputError("no phenotype with cis variants in the permutation tables")
    scope = "phenotype_chr" if args.per_chromosome else None
    summary = annotate(table, args.fdr, args.method, args.lam, by=scope)
    outputs.write_table(table, f"{args.out}.cis_qtl.fdr.txt.gz")
    significant = table[table["qval"] <= args.fdr]
    outputs.write_table(significant, f"{args.out}.egenes.txt.gz")

    thresholds = significant.set_index(key)["pval_nominal_threshold"]
    if key == "group_id":
        if not args.groups:
            raise InputError("grouped permutation tables need --groups to give each phenotype its group's threshold")
        groups = pd.read_csv(args.groups, sep=r"\s+", header=None, dtype=str, usecols=[0, 1], names=["phenotype_id", "group_id"])
        thresholds = groups.set_index("phenotype_id")["group_id"].map(thresholds).dropna()
    counts = None
    if args.nominal:
        n_pairs = outputs.significant_pairs(args.nominal, thresholds, f"{args.out}.significant_pairs.txt.gz")
        counts = cisqtl.nominal_log_histogram(args.nominal)
        log(f"{n_pairs} significant pairs")
    settings = {
        "fdr": args.fdr,
        "method": args.method if args.lam is None else f"{args.method}, lambda {args.lam:g}",
        "scope": "chromosome" if scope else "genome-wide",
    }
    cisqtl.write_multiqc(table, summary, settings, counts, args.out)
    for name, s in summary.items():
        log(
            f"{name}: {s['significant']}/{s['tested']} significant at FDR {args.fdr:g}; "
            f"pi0 {s['pi0']:.4f}; p_t {s['p_threshold']:.4g}"
        )


if __name__ == "__main__":
    sys.exit(run(main))
