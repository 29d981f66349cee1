#!/usr/bin/env python3
"""Check each library's strandedness, detected by Salmon (lib_format_counts.json), against the samplesheet.

Writes a sample-status fragment (``flagged`` with the reason where they disagree; ``--action fail`` instead exits 1
naming every disagreeing library, writing nothing) and a MultiQC table. Thresholds: see magelib.strandedness.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.io.atomic import atomic_open
from magelib.io.tables import check_unique
from magelib.reads.strandedness import check, read_format_counts
from magelib.report.multiqc import write_table


def read_declared(path: Path) -> dict[str, str]:
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read the declared strandedness table ({err})") from err
    if list(table.columns[:2]) != ["sample", "strandedness"]:
        raise InputError(f"{path}: header must start with 'sample<TAB>strandedness'")
    check_unique(table["sample"], "sample", str(path))
    return dict(zip(table["sample"], table["strandedness"], strict=True))


def write_multiqc(calls, path: Path) -> None:
    columns = ["Sample", "samplesheet", "detected", "sense_percent", "stranded_fragments", "salmon_libtype", "agrees"]
    rows = [
        [c.sample, c.declared, c.detected, f"{100 * c.sense_fraction:.2f}" if c.fragments else "", str(c.fragments),
         c.salmon_format, "yes" if c.agrees else "no"]
        for c in calls
    ]  # fmt: skip
    description = (
        "Library strandedness detected by Salmon (share of stranded fragments whose read 1 is sense) "
        "against the samplesheet; auto always agrees."
    )
    write_table(pd.DataFrame(rows, columns=columns), path, "mage_strandedness", "Strandedness", description)


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--quant", nargs="+", type=Path, required=True, help="Salmon output directories, named by library ID")
    p.add_argument("--declared", type=Path, required=True, help="TSV with header sample<TAB>strandedness (samplesheet values)")
    p.add_argument("--action", choices=("warn", "fail"), default="warn", help="on disagreement: flag the library, or fail")
    p.add_argument(
        "--stranded-threshold", type=float, default=0.8, help="sense (or antisense) share that calls a stranded library"
    )
    p.add_argument(
        "--unstranded-threshold", type=float, default=0.1, help="|sense - antisense| share below which a library is unstranded"
    )
    p.add_argument("--min-fragments", type=int, default=500, help="fewer stranded fragments than this: no call, never flagged")
    p.add_argument("--status", type=Path, default=Path("strandedness.status.tsv"), help="sample-status fragment")
    p.add_argument("--mqc", type=Path, default=Path("strandedness_mqc.tsv"), help="MultiQC custom-content table")
    args = p.parse_args(argv)
    if not 0.5 < args.stranded_threshold <= 1 or not 0 <= args.unstranded_threshold < 1:
        raise InputError("--stranded-threshold must be in (0.5, 1] and --unstranded-threshold in [0, 1)")

    check_unique([d.name for d in args.quant], "library (quant directory name)", "--quant")
    counts = {d.name: read_format_counts(d / "lib_format_counts.json") for d in args.quant}
    calls = check(read_declared(args.declared), counts, args.stranded_threshold, args.unstranded_threshold, args.min_fragments)
    disagree = [c for c in calls if not c.agrees]
    if disagree and args.action == "fail":
        details = "; ".join(f"{c.sample}: {c.describe()}" for c in disagree)
        raise InputError(f"strandedness disagrees with the samplesheet for {len(disagree)} libraries: {details}")
    for c in disagree:
        print(f"WARNING: {c.sample}: {c.describe()}", file=sys.stderr)
    with atomic_open(args.status) as handle:
        handle.write("sample\tstep\tstatus\treason\n")
        for c in calls:
            handle.write(f"{c.sample}\tstrandedness\t{'kept' if c.agrees else 'flagged'}\t{'' if c.agrees else c.describe()}\n")
    write_multiqc(calls, args.mqc)


if __name__ == "__main__":
    sys.exit(run(main))
