#!/usr/bin/env python3
"""eQTL effect sizes as allelic fold change (aFC-n, MAGE §2.22) from phased genotypes and log expression.

Per gene of --eqtls (all its lead variants fitted together): expression = the BED row (MAGE: DESeq2 log2(x + 1));
covariates whose 95 % CI includes 0 in pheno ~ genotype indicators + covariates are dropped and the rest regressed
out (--no-covariate-correction skips this); then y = log2(2^(h1 s) + 2^(h2 s)) + c0 by least squares on the phased
haplotypes, with stderr and ±2σ intervals (profile likelihood as lmfit conf_interval, or Wald). Samples: those of
the BED, each required in the VCF (and the covariates). chrX: genes with a lead variant outside the PARs are skipped.
Writes:
  PREFIX.afc.txt.gz       one row per eQTL row: gene_id variant_id variant_chr variant_pos log2_aFC log2_aFC_error
                          log2_aFC_c0 log2_aFC_min_95_interv log2_aFC_plus_95_interv log2_aFC_c0_min_95_interv
                          log2_aFC_c0_plus_95_interv (NA for genes skipped or failed)
  PREFIX.afc_status.tsv   one row per gene: gene_id status (ok/skipped/failed) reason n_samples
  PREFIX.afc_*_mqc.*      MultiQC content: the log2 aFC distribution and the genes skipped or failed
See bin/magelib/finemap/afc.py (numerics) and bin/magelib/finemap/afc_run.py (inputs and checks).
"""

from __future__ import annotations

import argparse
import sys

from magelib.cli import InputError, log, parser, run
from magelib.io.vcf import PAR_GRCH38, is_chrx, parse_regions


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--vcf", required=True, help="phased VCF/BCF (bgzipped and indexed); chrX males may be haploid (hap2dip)")
    p.add_argument("--label", default="eqtl", help="QTL type shown in the MultiQC sections (eqtl, sqtl)")
    p.add_argument("--phenotypes", required=True, help="phenotype BED(.gz) of log expression (MAGE: DESeq2 log2(x + 1))")
    p.add_argument("--covariates", default=None, help="FastQTL covariate file (id then samples; text rows dummy-coded)")
    p.add_argument(
        "--eqtls",
        required=True,
        help="TSV: gene_id (or phenotype_id), variant_id [, variant_chr, variant_pos]; rows of a gene = one multi-variant fit",
    )
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument(
        "--chrx-par-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="skip genes with a chrX lead variant outside the PARs (MAGE); --no-chrx-par-only fits them on hap2dip calls",
    )
    p.add_argument(
        "--par-regions",
        default=PAR_GRCH38,
        help="pseudo-autosomal regions, chrom:start-end comma-separated (1-based; GRCh38 default; chrX entries are used)",
    )
    p.add_argument(
        "--interval",
        choices=["profile", "wald"],
        default="profile",
        help="interval: profile likelihood (F test, as lmfit conf_interval) or estimate ± t quantile × stderr",
    )
    p.add_argument("--sigma", type=float, default=2.0, help="interval width in normal standard deviations (MAGE: 2)")
    p.add_argument(
        "--window",
        type=int,
        default=1_000_000,
        help="look-up window around the gene's BED start for variant IDs that are not chr_pos_ref_alt (without positions)",
    )
    p.add_argument(
        "--no-covariate-correction",
        dest="correct",
        action="store_false",
        help="fit the BED values as they are (no covariate regression)",
    )
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if args.correct and not args.covariates:
        raise InputError("--covariates is required unless --no-covariate-correction is given")
    if not args.sigma > 0:
        raise InputError("--sigma must be positive")
    if args.window < 0:
        raise InputError("--window must be >= 0")
    pars = tuple((start, end) for chrom, start, end in parse_regions(args.par_regions) if is_chrx(chrom))

    from magelib.finemap.afc_run import AfcSettings, run_afc
    from magelib.qtl.outputs import write_table
    from magelib.report.finemap import write_afc_multiqc

    settings = AfcSettings(
        window=args.window,
        chrx_par_only=args.chrx_par_only,
        pars=pars,
        correct=args.correct,
        interval=args.interval,
        sigma=args.sigma,
    )
    table, status = run_afc(args.vcf, args.phenotypes, args.covariates if args.correct else None, args.eqtls, settings)
    write_table(table, f"{args.out}.afc.txt.gz")
    write_table(status, f"{args.out}.afc_status.tsv")
    write_afc_multiqc(table, status, args.out, args.label)
    counts = status["status"].value_counts()
    log(", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "skipped", "failed")) + f" of {len(status)} genes")


if __name__ == "__main__":
    sys.exit(run(main))
