#!/usr/bin/env python3
"""Build the genotype store (per chromosome: int8/float32 dosage .npy + variants parquet) from VCF/BCF files.

Keeps biallelic SNPs and indels with MAF >= --maf among the listed individuals; IDs chr_pos_ref_alt; DS if the VCF
has it, else GT. chrX: haploid calls become 0/2 as MAGE's hap2dip VCF (--chrx exclude drops chrX); labelled males
with heterozygous and labelled females with haploid calls outside the PARs are reported, never recoded.
Format: bin/magelib/io/genotype_store.py.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from magelib.cli import InputError, parser, run
from magelib.genotypes.prepare import PrepareSettings, prepare_store, read_sample_table
from magelib.io.vcf import PAR_GRCH38, parse_regions


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--vcf", nargs="+", required=True, help="VCF/BCF file(s), e.g. one per chromosome (bgzipped; indexed for --threads)"
    )
    p.add_argument(
        "--samples",
        required=True,
        help="TSV with an 'individual' column (and 'sex', checked on chrX), or one individual per line",
    )
    p.add_argument(
        "--keep",
        help="TSV with an 'individual' column (e.g. focal_libraries.tsv): only these individuals are stored and "
        "counted for --maf (those dropped by identity QC are not)",
    )
    p.add_argument("--out", required=True, help="output store directory (e.g. genotypes.store)")
    p.add_argument("--maf", type=float, default=0.01, help="minimum minor allele frequency among the individuals")
    p.add_argument(
        "--chrx", choices=["diploid", "exclude"], default="diploid", help="chrX policy: MAGE's 0/2 coding of males, or drop chrX"
    )
    p.add_argument(
        "--par-regions",
        default=PAR_GRCH38,
        help="pseudo-autosomal regions, chrom:start-end comma-separated (1-based; GRCh38 default)",
    )
    p.add_argument("--chromosomes", nargs="+", default=None, help="contigs to keep (default: all but Y and M)")
    p.add_argument("--threads", type=int, default=1, help="contigs processed in parallel (indexed inputs)")
    return p


def kept_individuals(individuals: list[str], keep_path: str, samples_path: str) -> list[str]:
    """The individuals of the sample table that the --keep table lists, in sample-table order."""
    keep, _ = read_sample_table(keep_path)
    unknown = sorted(set(keep) - set(individuals))
    if unknown:
        raise InputError(f"{keep_path}: individual '{unknown[0]}' is not in the sample table {samples_path}")
    wanted = set(keep)
    return [individual for individual in individuals if individual in wanted]


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    if not 0 <= args.maf < 0.5:
        raise InputError("--maf must be in [0, 0.5)")
    individuals, sexes = read_sample_table(args.samples)
    if args.keep:
        individuals = kept_individuals(individuals, args.keep, args.samples)
    settings = PrepareSettings(
        individuals, sexes, args.maf, args.chrx, parse_regions(args.par_regions), args.chromosomes, args.threads
    )
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        manifest = prepare_store(args.vcf, tmp, settings)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    for individual, warning in manifest["sex_warnings"].items():
        print(f"WARNING: {individual} {warning} (check the sex label)", file=sys.stderr)
    total = sum(manifest["chromosomes"].values())
    print(
        f"{out}: {total} variants on {len(manifest['chromosomes'])} chromosomes, {len(individuals)} individuals", file=sys.stderr
    )


if __name__ == "__main__":
    sys.exit(run(main))
