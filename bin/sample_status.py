#!/usr/bin/env python3
"""Merge per-step sample-status fragments into one table: every library, kept or dropped, and why.

Each fragment has the header ``sample step status reason`` (status: kept, dropped or flagged). A library is
dropped if any step dropped it; every flag and drop reason is kept, in step order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.io.atomic import atomic_open
from magelib.report.multiqc import write_table

STATUSES = ("kept", "flagged", "dropped")
FRAGMENT_COLUMNS = ["sample", "step", "status", "reason"]


def read_fragment(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(frame.columns) != FRAGMENT_COLUMNS:
        raise InputError(f"{path}: header must be {' '.join(FRAGMENT_COLUMNS)}, found {' '.join(frame.columns)}")
    bad = frame.loc[~frame["status"].isin(STATUSES)]
    if len(bad):
        raise InputError(f"{path} line {bad.index[0] + 2}: status '{bad['status'].iat[0]}' is not one of {', '.join(STATUSES)}")
    return frame


def merge(fragments: list[pd.DataFrame], samples: pd.DataFrame) -> pd.DataFrame:
    """One row per library of the sample table: final status, the steps that flagged or dropped it, and why."""
    events = pd.concat(fragments, ignore_index=True) if fragments else pd.DataFrame(columns=FRAGMENT_COLUMNS)
    unknown = sorted(set(events["sample"]) - set(samples["sample"]))
    if unknown:
        raise InputError(f"status fragments name library '{unknown[0]}', which is not in the sample table")
    rank = {s: i for i, s in enumerate(STATUSES)}
    rows = []
    for sample in samples["sample"]:
        mine = events.loc[events["sample"] == sample]
        worst = max(mine["status"], key=rank.__getitem__, default="kept")
        notes = mine.loc[mine["status"] != "kept"]
        rows.append(
            {
                "sample": sample,
                "status": worst,
                "steps": ",".join(notes["step"]) or "-",
                "reason": "; ".join(f"{s}: {r}" for s, r in zip(notes["step"], notes["reason"], strict=True)) or "-",
            }
        )
    table = pd.DataFrame(rows)
    return samples[["sample", "individual"]].merge(table, on="sample")


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--samples", type=Path, required=True, help="sample table from check_samplesheet.py")
    p.add_argument("--out", type=Path, default=Path("sample_status.tsv"))
    p.add_argument("--multiqc", type=Path, default=Path("sample_status_mqc.tsv"))
    p.add_argument("fragments", type=Path, nargs="*", help="*.status.tsv fragments")
    args = p.parse_args(argv)

    samples = pd.read_csv(args.samples, sep="\t", dtype=str, keep_default_na=False)
    table = merge([read_fragment(f) for f in sorted(args.fragments)], samples)
    with atomic_open(args.out) as handle:
        table.to_csv(handle, sep="\t", index=False, lineterminator="\n")
    write_table(
        table, args.multiqc, "mage_sample_status", "Sample status",
        "Every library: kept for QTL mapping, flagged, or dropped, with the step and the reason.",
    )  # fmt: skip
    counts = table["status"].value_counts()
    print(" ".join(f"{s}={counts.get(s, 0)}" for s in STATUSES), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
