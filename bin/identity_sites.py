#!/usr/bin/env python3
"""Pick the sites for genotype-concordance checks and store every individual's genotypes there.

Sites: biallelic SNPs of the VCF with MAF >= --min-maf among its individuals, inside the exons of the GTF (RNA-seq
covers exons), at least --min-distance bp apart (two SNPs under one read are not independent evidence). The VCF is
read once through its index, one query per merged exon.

Writes the site list for `bcftools mpileup -R` (CHROM, POS; no header, which `bcftools view -R` rejects) and the
identity panel (Parquet: chrom, pos, ref, alt, then one int8 ALT-dosage column per individual, -1 missing; haploid
calls count as 0 or 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

from magelib.cli import parser, run
from magelib.identity.sites import merged_exons, select_sites, write_panel
from magelib.io.atomic import atomic_open
from magelib.io.gtf import read_features


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--vcf", type=Path, required=True, help="bgzipped, indexed genotype VCF (GT)")
    p.add_argument("--gtf", type=Path, help="annotation whose exons restrict the sites (omit to use every SNP)")
    p.add_argument("--min-maf", type=float, default=0.05, help="minimum minor-allele frequency among the VCF's individuals")
    p.add_argument("--min-distance", type=int, default=100, help="minimum distance (bp) between two kept sites")
    p.add_argument("--sites", type=Path, default=Path("identity_sites.tsv"), help="site list for bcftools mpileup -R")
    p.add_argument(
        "--panel", type=Path, default=Path("identity_panel.parquet"), help="genotypes of every individual at the sites"
    )
    args = p.parse_args(argv)

    regions = merged_exons(read_features(args.gtf, "exon")) if args.gtf else None
    panel = select_sites(args.vcf, regions, args.min_maf, args.min_distance)
    with atomic_open(args.sites) as handle:
        for chrom, pos in zip(panel.chrom, panel.pos, strict=True):
            handle.write(f"{chrom}\t{pos}\n")
    write_panel(panel, args.panel)
    print(f"{len(panel)} identity sites, {len(panel.individuals)} individuals", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
