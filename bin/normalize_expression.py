#!/usr/bin/env python3
"""Expression phenotypes (MAGE §2.3): gene filter, TMM, inverse-normal TMM and DESeq2 log counts, as phenotype BEDs.

Inputs are the focal gene matrices (genes x individuals, first column gene_id). Writes, with PREFIX:
  PREFIX.inverse_normal_tmm.bed.gz  the eQTL phenotype (INT of TMM-CPM, per gene)
  PREFIX.tmm.bed.gz                 TMM-CPM (edgeR cpm with TMM factors from all genes)
  PREFIX.counts.bed.gz              the unrounded gene counts
  PREFIX.deseq2_log2.bed.gz         log2(DESeq2-normalised counts + 1), tximport length offsets (the aFC phenotype)
  PREFIX.gene_filter.tsv            per-gene filter report; PREFIX.tmm_factors.tsv  library sizes and TMM factors
  PREFIX.gene_filter_mqc.json       MultiQC: genes kept and removed by the filter
(each BED with a tabix index; rows at each gene's TSS from the GTF; sample columns sorted).
"""

from __future__ import annotations

import json
import sys

from magelib.cli import InputError, parser, run
from magelib.io import gtf, tables
from magelib.io.atomic import atomic_open, atomic_path
from magelib.phenotypes import normalize


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--counts", required=True, help="gene counts TSV (genes x individuals)")
    p.add_argument("--tpm", required=True, help="gene TPM TSV, same genes and individuals")
    p.add_argument("--lengths", help="gene average transcript lengths TSV (tximport); without it DESeq2 uses no length offsets")
    p.add_argument("--gtf", required=True, help="GTF with the genes (TSS positions and chromosomes)")
    p.add_argument("--prefix", default="expression", help="output prefix")
    p.add_argument("--min-counts", type=float, default=6, help="minimum count for a sample to count as expressing a gene")
    p.add_argument("--min-tpm", type=float, default=0.1, help="minimum TPM for a sample to count as expressing a gene")
    p.add_argument(
        "--min-sample-frac",
        type=float,
        default=0.2,
        help="a gene is kept if >= this fraction of samples pass the count threshold and, separately, the TPM one",
    )
    p.add_argument(
        "--chromosomes",
        choices=normalize.CHROMOSOME_SETS,
        default="autosomes_x",
        help="genes kept by chromosome: chr1-22 + X, chr1-22, or all",
    )
    return p


def filter_mqc(report, prefix: str) -> dict:
    """MultiQC stacked bar: genes kept, removed as lowly expressed, removed by chromosome."""
    low = int((~(report["pass_counts"] & report["pass_tpm"])).sum())
    other_chrom = int(((report["pass_counts"] & report["pass_tpm"]) & ~report["chromosome_allowed"]).sum())
    return {
        "id": "mage_expression_gene_filter",
        "section_name": "Expression gene filter",
        "description": "Genes kept for the expression phenotypes: expressed (counts and TPM thresholds in enough samples) "
        "and on the chosen chromosomes.",
        "plot_type": "bargraph",
        "pconfig": {"id": "mage_expression_gene_filter_plot", "title": "Expression gene filter", "ylab": "Genes"},
        "categories": {
            "kept": {"name": "Kept"},
            "low_expression": {"name": "Lowly expressed"},
            "other_chromosome": {"name": "Other chromosome"},
        },
        "data": {prefix: {"kept": int(report["kept"].sum()), "low_expression": low, "other_chromosome": other_chrom}},
    }


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    counts = tables.read_matrix(args.counts)
    others = {args.tpm: tables.read_matrix(args.tpm)}
    if args.lengths:
        others[args.lengths] = tables.read_matrix(args.lengths)
    genes = gtf.genes(args.gtf)
    aligned = normalize.check_expression_inputs(counts, others, genes["chrom"], args.counts, args.gtf)
    result = normalize.expression_phenotypes(
        counts,
        aligned[args.tpm],
        aligned.get(args.lengths),
        genes["chrom"],
        min_counts=args.min_counts,
        min_tpm=args.min_tpm,
        min_sample_frac=args.min_sample_frac,
        chromosomes=args.chromosomes,
    )
    if result.counts.empty:
        raise InputError(f"{args.counts}: no gene passes the expression filter and chromosome set ({args.chromosomes})")
    positions = gtf.tss_positions(genes.loc[result.counts.index])
    for name, table in (
        ("inverse_normal_tmm", result.inverse_normal_tmm),
        ("tmm", result.tmm),
        ("counts", result.counts),
        ("deseq2_log2", result.deseq2_log2),
    ):
        tables.write_phenotype_bed(positions, table, f"{args.prefix}.{name}.bed.gz")
    with atomic_path(f"{args.prefix}.gene_filter.tsv") as tmp:
        result.gene_report.to_csv(tmp, sep="\t", index_label="gene_id")
    with atomic_path(f"{args.prefix}.tmm_factors.tsv") as tmp:
        result.tmm_report.to_csv(tmp, sep="\t", index_label="sample", float_format="%.10g")
    with atomic_open(f"{args.prefix}.gene_filter_mqc.json") as handle:
        json.dump(filter_mqc(result.gene_report, args.prefix), handle, indent=1)
    kept = len(result.counts)
    print(f"{kept} of {len(counts)} genes kept; {len(result.counts.columns)} samples", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
