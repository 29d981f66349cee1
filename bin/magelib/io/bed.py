"""Reading phenotype BEDs for QTL mapping (FastQTL/tensorQTL 4-column and QTLtools 6-column layouts) and
FastQTL phenotype-group files, with checks that name the file and line."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd

from ..cli import InputError
from .tables import check_unique

FIXED_BED_NAMES = {"length", "strand", "gid", "pid", "score", "group", "group_id", "gene_id", "gene", "name"}


def _open_text(path: str):
    try:
        return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err})") from err


def bed_layout(path: str) -> tuple[int, list[str]]:
    """Number of fixed columns and the sample names of a phenotype BED.

    FastQTL/tensorQTL BEDs have 4 fixed columns (``#chr start end phenotype_id``); QTLtools BEDs have 6
    (``#chr start end pid gid strand``, or ``... gene length strand``). Columns after the 4th count as fixed
    while their header is a known annotation name or their first value is not a number.
    """
    with _open_text(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
        first = handle.readline().rstrip("\n").split("\t")
    if len(header) < 5 or header[0].lstrip("#").lower() not in ("chr", "chrom", "chromosome"):
        raise InputError(f"{path}: line 1: header must start with '#chr start end phenotype_id' followed by sample columns")
    fixed = 4
    while fixed < len(header) and (
        header[fixed].lower() in FIXED_BED_NAMES or not _is_number(first[fixed] if fixed < len(first) else "0")
    ):
        fixed += 1
    samples = header[fixed:]
    if not samples:
        raise InputError(f"{path}: no sample columns after the {fixed} fixed columns")
    check_unique(samples, "sample column", path)
    return fixed, samples


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.upper() == "NA"
    return True


def read_bed_positions(path: str) -> pd.DataFrame:
    """chr, start, end, phenotype_id of every BED row, in file order; checks IDs are unique and rows sorted."""
    try:
        table = pd.read_csv(path, sep="\t", usecols=[0, 1, 2, 3], dtype={0: str, 3: str})
    except (OSError, ValueError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read phenotype BED ({err})") from err
    table.columns = ["chr", "start", "end", "phenotype_id"]
    if table.empty:
        raise InputError(f"{path}: the phenotype BED has no rows")
    if not pd.api.types.is_integer_dtype(table["start"]):
        raise InputError(f"{path}: column 'start' is not an integer in every row")
    check_unique(table["phenotype_id"], "phenotype ID", path)
    chrom = table["chr"].to_numpy()
    change = np.r_[True, chrom[1:] != chrom[:-1]]
    runs = chrom[change]
    if len(set(runs)) != len(runs):
        raise InputError(
            f"{path}: rows of chromosome '{runs[pd.Series(runs).duplicated().to_numpy()][0]}' are not contiguous (sort the BED)"
        )
    start = table["start"].to_numpy()
    unsorted = np.nonzero(~change[1:] & (start[1:] < start[:-1]))[0]
    if len(unsorted):
        row = unsorted[0] + 1
        raise InputError(
            f"{path}: line {row + 2}: phenotype '{table['phenotype_id'].iat[row]}' is not sorted by start (sort the BED)"
        )
    return table


def read_bed_values(path: str, lo: int, hi: int, fixed: int, samples: list[str]) -> np.ndarray:
    """Values of BED rows [lo, hi) (0-based data rows) as float64, phenotypes x samples; must be finite."""
    if hi <= lo:
        return np.empty((0, len(samples)))
    frame = pd.read_csv(path, sep="\t", skiprows=range(1, lo + 1), nrows=hi - lo, dtype={0: str})
    values = frame.iloc[:, fixed:]
    try:
        array = values.to_numpy(dtype=float)
    except ValueError as err:
        raise InputError(f"{path}: non-numeric phenotype value in rows {lo + 2}-{hi + 1} ({err})") from err
    bad = ~np.isfinite(array)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"{path}: line {lo + i + 2}: phenotype '{frame.iloc[i, 3]}' has a missing or non-finite value "
            f"for sample '{samples[j]}'"
        )
    return array


def read_groups(path: str, phenotype_ids: np.ndarray) -> np.ndarray:
    """Group of each BED phenotype from a FastQTL groups file (``phenotype_id group_id``, no header).

    Groups must be contiguous in BED order.
    """
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, usecols=[0, 1], names=["phenotype_id", "group_id"])
    except (OSError, ValueError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read phenotype groups ({err})") from err
    check_unique(table["phenotype_id"], "phenotype ID", path)
    mapping = table.set_index("phenotype_id")["group_id"]
    missing = pd.Index(phenotype_ids).difference(mapping.index)
    if len(missing):
        raise InputError(f"{path}: phenotype '{missing[0]}' of the BED has no group ({len(missing)} without a group)")
    groups = mapping.loc[phenotype_ids].to_numpy()
    change = np.r_[True, groups[1:] != groups[:-1]]
    runs = pd.Series(groups[change])
    if runs.duplicated().any():
        group = runs[runs.duplicated()].iat[0]
        rows = np.nonzero(groups == group)[0]
        raise InputError(
            f"{path}: phenotypes of group '{group}' are not contiguous in BED order (BED rows {rows[0] + 1} and {rows[-1] + 1})"
        )
    return groups
