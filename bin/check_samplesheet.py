#!/usr/bin/env python3
"""Validate a mage samplesheet and write the normalised sample table and a sample-status fragment."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from magelib.cli import parser, run
from magelib.io.atomic import atomic_open
from magelib.reads.samplesheet import OUTPUT_COLUMNS, check_samplesheet


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("samplesheet", type=Path, help="CSV or TSV samplesheet")
    p.add_argument("--base-dir", type=Path, help="base of relative FASTQ paths (default: the samplesheet's directory)")
    p.add_argument("--vcf", type=Path, help="genotype VCF whose header must contain every individual")
    p.add_argument(
        "--missing-individual",
        choices=("fail", "drop"),
        default="fail",
        help="what to do with libraries whose individual is not in the VCF",
    )
    p.add_argument(
        "--no-file-check",
        action="store_true",
        help="resolve FASTQ paths without checking that they exist (the pipeline checks them when it stages them)",
    )
    p.add_argument("--out", type=Path, default=Path("samples.tsv"), help="normalised sample table")
    p.add_argument("--status", type=Path, default=Path("samplesheet.status.tsv"), help="sample-status fragment")
    args = p.parse_args(argv)

    checked = check_samplesheet(
        args.samplesheet, args.base_dir, args.vcf, args.missing_individual, check_files=not args.no_file_check
    )
    with atomic_open(args.out) as handle:
        writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(checked.rows)
    with atomic_open(args.status) as handle:
        handle.write("sample\tstep\tstatus\treason\n")
        for row in checked.rows:
            handle.write(f"{row['sample']}\tsamplesheet\tkept\t\n")
        for sample, reason in checked.dropped:
            handle.write(f"{sample}\tsamplesheet\tdropped\t{reason}\n")
            print(f"WARNING: dropped {sample}: {reason}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
