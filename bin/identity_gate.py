#!/usr/bin/env python3
"""Apply the identity policy: which libraries go on to QTL mapping after the sex check and genotype concordance.

A library fails on a sex mismatch or a concordance verdict of swap or unknown; it is flagged on an ambiguous sex or
concordance, or when a check has no result for it. --action decides what a failure does:
  drop  the library is dropped (status 'dropped', with the reason; a swap names the individual the RNA matches),
  fail  exit 1 naming every failing library,
  warn  the library is kept and flagged.
Either check may be absent (skipped): the gate then rests on the other, or passes every library.

Outputs: the passing libraries (sample, individual, status, matched_individual) and a sample-status fragment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.identity.sex import read_sample_table
from magelib.io.atomic import atomic_open

FAIL_SEX = {"mismatch"}
FLAG_SEX = {"ambiguous"}
FAIL_CONCORDANCE = {"swap", "unknown"}
FLAG_CONCORDANCE = {"ambiguous"}


def read_results(path: Path, required: list[str], what: str) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read {what} results ({err})") from err
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: {what} results have no '{missing[0]}' column")
    duplicated = table["sample"][table["sample"].duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: library '{duplicated.iat[0]}' appears twice")
    return table.set_index("sample", drop=False)


def judge(samples: pd.DataFrame, sex: pd.DataFrame | None, concordance: pd.DataFrame | None) -> pd.DataFrame:
    """Per library: the failures and flags raised by each check, and the individual its RNA matches."""
    for table, what in ((sex, "sex check"), (concordance, "genotype concordance")):
        if table is not None:
            unknown = table.index.difference(samples.index)
            if len(unknown):
                raise InputError(f"{what} results name library '{unknown[0]}', which is not in the sample table")
    rows = []
    for library in samples.index:
        failures, flags, matched = [], [], ""
        if sex is not None:
            if library not in sex.index:
                flags.append("no sex-check result")
            else:
                verdict, reason = sex.at[library, "verdict"], sex.at[library, "reason"]
                if verdict in FAIL_SEX:
                    failures.append(f"sex {verdict}: {reason}")
                elif verdict in FLAG_SEX:
                    flags.append(f"sex {verdict}: {reason}")
        if concordance is not None:
            if library not in concordance.index:
                flags.append("no genotype-concordance result")
            else:
                verdict, reason = concordance.at[library, "verdict"], concordance.at[library, "reason"]
                matched = concordance.at[library, "best_individual"]
                if verdict == "swap":
                    failures.append(f"sample swap: {reason}")
                elif verdict in FAIL_CONCORDANCE:
                    failures.append(f"genotype {verdict}: {reason}")
                elif verdict in FLAG_CONCORDANCE:
                    flags.append(f"genotype {verdict}: {reason}")
        rows.append(
            {
                "sample": library,
                "individual": samples.at[library, "individual"],
                "failures": failures,
                "flags": flags,
                "matched_individual": matched,
            }
        )
    return pd.DataFrame(rows)


def apply_action(judged: pd.DataFrame, action: str) -> pd.DataFrame:
    """Status and reason per library under the chosen action ('fail' raises when any library fails)."""
    failing = judged[judged["failures"].map(len) > 0]
    if action == "fail" and len(failing):
        details = "; ".join(f"{row.sample} ({' / '.join(row.failures)})" for row in failing.itertuples())
        raise InputError(f"identity check failed for {len(failing)} libraries (identity_action = fail): {details}")
    statuses, reasons = [], []
    for row in judged.itertuples():
        problems = row.failures + row.flags
        if row.failures and action == "drop":
            status = "dropped"
        elif problems:
            status = "flagged"
        else:
            status = "kept"
        statuses.append(status)
        reasons.append("; ".join(problems))
    return judged.assign(status=statuses, reason=reasons)


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--samples", type=Path, required=True, help="sample table: sample, individual, ...")
    p.add_argument("--sex-check", type=Path, help="sex_check.tsv (omit when the sex check was skipped)")
    p.add_argument("--concordance", type=Path, help="genotype_concordance.tsv (omit when concordance was skipped)")
    p.add_argument("--action", choices=("drop", "fail", "warn"), default="drop", help="what a failing library gets")
    p.add_argument("--out", type=Path, default=Path("identity_passing.tsv"), help="libraries passing to QTL mapping")
    p.add_argument("--status", type=Path, default=Path("identity.status.tsv"), help="sample-status fragment")
    args = p.parse_args(argv)

    samples = read_sample_table(args.samples)
    sex = read_results(args.sex_check, ["sample", "verdict", "reason"], "sex check") if args.sex_check else None
    concordance = (
        read_results(args.concordance, ["sample", "verdict", "reason", "best_individual"], "genotype concordance")
        if args.concordance
        else None
    )
    decided = apply_action(judge(samples, sex, concordance), args.action)
    skipped = [what for what, table in (("sex check", sex), ("genotype concordance", concordance)) if table is None]

    passing = decided[decided["status"] != "dropped"]
    with atomic_open(args.out) as handle:
        passing[["sample", "individual", "status", "matched_individual"]].to_csv(handle, sep="\t", index=False)
    with atomic_open(args.status) as handle:
        handle.write("sample\tstep\tstatus\treason\n")
        note = f" ({' and '.join(skipped)} not run)" if skipped else ""
        for row in decided.itertuples():
            handle.write(f"{row.sample}\tidentity_gate\t{row.status}\t{row.reason or 'passed'}{note}\n")
    for row in decided[decided["status"] == "dropped"].itertuples():
        print(f"WARNING: dropped {row.sample}: {row.reason}", file=sys.stderr)
    print(f"{len(passing)} of {len(decided)} libraries pass the identity gate (action {args.action}){note}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
