"""Library -> individual resolution (MAGE §1): one focal library per individual for QTL mapping (the one with
the most read pairs, or the first in the sample table), and counts summed over an individual's libraries for
DE-style analyses (DESeq2 collapseReplicates)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..cli import InputError

SELECTIONS = ("max_reads", "first")


def read_pairs_table(paths: list[str | os.PathLike]) -> pd.Series:
    """Read pairs per library from FASTQ_VALIDATE JSONs (``<library>.fastq_check.json``: read_pairs, and sample
    when present) and/or TSVs with columns sample and read_pairs."""
    counts: dict[str, int] = {}
    for path in map(Path, paths):
        if path.suffix == ".json":
            try:
                record = json.loads(path.read_text())
            except (FileNotFoundError, json.JSONDecodeError) as err:
                raise InputError(f"{path}: cannot read read-pair JSON ({err})") from err
            library = record.get("sample") or path.name.removesuffix(".json").removesuffix(".fastq_check")
            entries = [(library, record.get("read_pairs"), "read_pairs")]
        else:
            try:
                table = pd.read_csv(path, sep="\t", dtype={"sample": str})
            except (FileNotFoundError, pd.errors.EmptyDataError) as err:
                raise InputError(f"{path}: cannot read read-pair table ({err})") from err
            if not {"sample", "read_pairs"} <= set(table.columns):
                raise InputError(f"{path}: read-pair table needs columns sample and read_pairs")
            entries = [(s, n, f"line {i + 2}") for i, (s, n) in enumerate(zip(table["sample"], table["read_pairs"], strict=True))]
        for library, pairs, where in entries:
            if not isinstance(pairs, (int, float)) or pd.isna(pairs) or pairs < 0 or int(pairs) != pairs:
                raise InputError(f"{path} ({where}): read_pairs '{pairs}' of library '{library}' is not a count")
            if library in counts:
                raise InputError(f"{path}: library '{library}' has read pairs in two places")
            counts[library] = int(pairs)
    return pd.Series(counts, name="read_pairs", dtype="int64")


def choose_focal(libraries: pd.DataFrame, read_pairs: pd.Series, selection: str) -> pd.DataFrame:
    """One row per individual: individual, library, read_pairs, n_libraries, reason.

    ``libraries`` has columns sample and individual in sample-table order. max_reads keeps the library with the
    most read pairs (ties: the first in the sample table), as MAGE; first keeps the first library listed.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}")
    missing = [lib for lib in libraries["sample"] if lib not in read_pairs.index]
    if missing and selection == "max_reads":
        raise InputError(f"no read-pair count for library '{missing[0]}' ({len(missing)} missing in all)")
    table = libraries[["sample", "individual"]].copy()
    table["read_pairs"] = table["sample"].map(read_pairs).astype("Int64")
    table["order"] = range(len(table))
    rows = []
    for individual, group in table.groupby("individual", sort=True):
        if selection == "max_reads":
            group = group.sort_values(["read_pairs", "order"], ascending=[False, True], kind="stable")
        chosen = group.iloc[0]
        n = len(group)
        if n == 1:
            reason = "only library"
        elif selection == "max_reads":
            reason = f"most read pairs of {n} libraries"
        else:
            reason = f"first of {n} libraries in the sample table"
        rows.append(
            {
                "individual": individual,
                "library": chosen["sample"],
                "read_pairs": chosen["read_pairs"],
                "n_libraries": n,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)


def replicate_status(libraries: pd.DataFrame, focal: pd.DataFrame, read_pairs: pd.Series, selection: str) -> pd.DataFrame:
    """Status fragment rows: kept for focal libraries, dropped for the other replicates, with the reason."""
    focal_by_individual = focal.set_index("individual")
    rows = []
    for library, individual in zip(libraries["sample"], libraries["individual"], strict=True):
        chosen = focal_by_individual.at[individual, "library"]
        if library == chosen:
            status, reason = "kept", f"focal library of {individual} ({focal_by_individual.at[individual, 'reason']})"
        elif selection == "max_reads":
            status = "dropped"
            fewer, most = read_pairs.get(library), read_pairs.get(chosen)
            if fewer < most:
                reason = f"replicate of {individual}, fewer reads ({fewer} < {most} read pairs in {chosen})"
            else:
                reason = f"replicate of {individual}, as many reads as {chosen} ({most}), which comes first in the sample table"
        else:
            status, reason = "dropped", f"replicate of {individual}, {chosen} comes first in the sample table"
        rows.append({"sample": library, "step": "replicates", "status": status, "reason": reason})
    return pd.DataFrame(rows)


def focal_matrix(matrix: pd.DataFrame, focal: pd.DataFrame, source: str) -> pd.DataFrame:
    """The focal libraries' columns, renamed to their individuals (sorted)."""
    missing = [lib for lib in focal["library"] if lib not in matrix.columns]
    if missing:
        raise InputError(f"{source}: library '{missing[0]}' is not a column of the matrix")
    out = matrix.loc[:, list(focal["library"])]
    out.columns = list(focal["individual"])
    return out


def collapse_counts(counts: pd.DataFrame, libraries: pd.DataFrame, source: str) -> pd.DataFrame:
    """Counts summed over each individual's libraries (columns: individuals, sorted)."""
    missing = [lib for lib in libraries["sample"] if lib not in counts.columns]
    if missing:
        raise InputError(f"{source}: library '{missing[0]}' is not a column of the matrix")
    grouped = counts.loc[:, list(libraries["sample"])].T.groupby(libraries["individual"].to_numpy(), sort=True).sum().T
    grouped.columns.name = None
    return grouped
