#!/usr/bin/env python3
"""Validate one library's FASTQ files (gzip or plain; both mates streamed together) and count its read pairs.

Fails with one line naming the file and the record on a truncated or corrupt gzip stream, a record that is not
4-line FASTQ, sequence/quality length mismatch, invalid characters, or mates whose counts or read names differ.
Writes a JSON summary: sample, read_pairs, read_length (longest read), mean_read_length, file names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from magelib.cli import InputError, parser, run
from magelib.io.atomic import atomic_open
from magelib.reads.fastq import check_fastq


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("fastq", nargs="+", type=Path, help="mate 1 and (for paired-end) mate 2")
    p.add_argument("--sample", required=True, help="library ID written into the summary")
    p.add_argument("--out", type=Path, help="JSON summary (default: <sample>.fastq_check.json)")
    args = p.parse_args(argv)
    if len(args.fastq) > 2:
        raise InputError(f"expected one or two FASTQ files, got {len(args.fastq)}")
    for path in args.fastq:
        if not path.is_file():
            raise InputError(f"{path}: FASTQ file not found")

    summary = check_fastq(*args.fastq)
    record = {
        "sample": args.sample,
        "read_pairs": summary.read_pairs,
        "read_length": summary.read_length,
        "mean_read_length": round(summary.mean_read_length, 4),
        "paired": len(args.fastq) == 2,
        "fastq": [path.name for path in args.fastq],
    }
    with atomic_open(args.out or Path(f"{args.sample}.fastq_check.json")) as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    print(f"{args.sample}: {summary.read_pairs} read pairs, longest read {summary.read_length} bp", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
