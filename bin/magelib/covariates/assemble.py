"""QTL covariates: genotype PCs (plink2 eigenvec), expression PCs and known covariates, joined by sample ID.

Every table is keyed by individual ID and reindexed to the phenotype BED's sample order, never matched by position
(MAGE §5 #3). Known covariates are coded explicitly (MAGE §5 #5):

- ``sex``: female = 0 (reference), male = 1 (``f``/``m`` accepted, any case);
- ``batch``, ``population``, ``continental_group`` and any column with a non-numeric value: k - 1 dummy rows
  ``<column>_<level>`` (0/1), the reference level being the first in natural sort order (1 < 2 < 10; written to the log);
- any other column whose values are all numbers: used as is.
"""

from __future__ import annotations

import gzip
import os
import sys

import numpy as np
import pandas as pd

from ..cli import InputError
from ..io.tables import check_finite, check_unique, natural_key

SEX_CODES = {"female": 0.0, "f": 0.0, "male": 1.0, "m": 1.0}


# Labels that are categorical even when they look like numbers (batch "1", "2", ...).
CATEGORICAL = {"batch", "population", "continental_group"}
COLLINEAR_TOLERANCE = 1e-8


def bed_samples(path: str | os.PathLike) -> list[str]:
    """Sample IDs from a phenotype BED header (columns after ``#chr start end phenotype_id``), in file order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt") as handle:
            header = handle.readline().rstrip("\n").split("\t")
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: cannot read phenotype BED header ({err})") from err
    if len(header) < 5 or header[0].lstrip("#").lower() not in ("chr", "chrom"):
        raise InputError(f"{path}: header must start with '#chr start end phenotype_id' followed by sample columns")
    check_unique(header[4:], "sample column", str(path))
    return header[4:]


def read_eigenvec(path: str | os.PathLike) -> pd.DataFrame:
    """plink2 ``.eigenvec`` (header ``#IID PC1..`` or ``#FID IID PC1..``) or plink 1.9 (no header, FID IID PCs).

    Returns individuals x PCs, indexed by IID, columns PC1..PCk.
    """
    try:
        with open(path) as handle:
            first = handle.readline()
    except OSError as err:
        raise InputError(f"{path}: cannot read genotype PCs ({err})") from err
    if first.startswith("#"):
        table = pd.read_csv(path, sep=r"\s+", dtype=str)
        table.columns = [c.lstrip("#") for c in table.columns]
        if "IID" not in table.columns:
            raise InputError(f"{path}: eigenvec header has no IID column")
        table = table.set_index("IID").drop(columns=[c for c in ("FID", "SID") if c in table.columns])
    else:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str)
        table = table.set_index(1).drop(columns=[0])
        table.columns = [f"PC{i + 1}" for i in range(table.shape[1])]
    check_unique(table.index, "individual", str(path))
    try:
        return table.astype(float)
    except ValueError as err:
        raise InputError(f"{path}: non-numeric principal component value ({err})") from err


def read_factors(path: str | os.PathLike) -> pd.DataFrame:
    """Covariates x samples in FastQTL format; unlike ``io.read_covariates`` a header with no rows (0 factors) is allowed."""
    try:
        table = pd.read_csv(path, sep="\t", index_col=0, dtype={0: str})
    except (OSError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read covariates ({err})") from err
    check_unique(table.index, "covariate", str(path))
    check_unique(table.columns, "sample", str(path))
    check_finite(table, str(path))
    return table


def read_table(path: str | os.PathLike, required: tuple[str, ...]) -> pd.DataFrame:
    """A header-bearing TSV read as strings (empty cells stay ''), with the required columns checked."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read table ({err})") from err
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column '{missing[0]}'")
    return table


def individual_metadata(samples_path: str | os.PathLike, focal_path: str | os.PathLike) -> pd.DataFrame:
    """Sample-table rows of the focal libraries, indexed by individual (per-library columns such as batch come
    from the library used for mapping)."""
    samples = read_table(samples_path, ("sample", "individual"))
    check_unique(samples["sample"], "sample", str(samples_path))
    focal = read_table(focal_path, ("individual", "library"))
    check_unique(focal["individual"], "individual", str(focal_path))
    by_library = samples.set_index("sample")
    absent = focal.loc[~focal["library"].isin(by_library.index), "library"]
    if len(absent):
        raise InputError(f"{focal_path}: library '{absent.iat[0]}' is not a sample in {samples_path}")
    rows = by_library.loc[focal["library"]].drop(columns=["individual"])
    rows.index = pd.Index(focal["individual"], name="individual")
    return rows


def encode_known(meta: pd.DataFrame, columns: list[str], source: str) -> tuple[pd.DataFrame, list[str]]:
    """Numeric rows (covariates x individuals) for the known covariates, and one line per column saying how it is coded."""
    rows, notes = {}, []
    for column in columns:
        if column not in meta.columns:
            raise InputError(f"{source}: known covariate '{column}' is not a column (columns: {', '.join(meta.columns)})")
        values = meta[column].astype(str).str.strip()
        empty = values[values == ""]
        if len(empty):
            raise InputError(f"{source}: individual '{empty.index[0]}' has no value for covariate '{column}'")
        if column == "sex":
            coded = values.str.lower().map(SEX_CODES)
            if coded.isna().any():
                bad = coded.index[coded.isna()][0]
                raise InputError(f"{source}: individual '{bad}' has sex '{values[bad]}' (expected female/male)")
            rows["sex"] = coded
            notes.append("sex: female = 0 (reference), male = 1")
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        if column not in CATEGORICAL and numeric.notna().all():
            rows[column] = numeric.astype(float)
            notes.append(f"{column}: numeric, used as is")
            continue
        levels = sorted(values.unique(), key=natural_key)
        for level in levels[1:]:
            rows[f"{column}_{level}"] = (values == level).astype(float)
        notes.append(f"{column}: categorical, reference level '{levels[0]}', dummies for {', '.join(levels[1:]) or 'none'}")
    return pd.DataFrame(rows).T if rows else pd.DataFrame(columns=meta.index, dtype=float), notes


def drop_constant(covariates: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Remove covariates with a single value across samples (they are absorbed by the intercept)."""
    values = covariates.to_numpy(dtype=float)
    constant = np.ptp(values, axis=1) == 0 if values.size else np.zeros(len(covariates), dtype=bool)
    return covariates[~constant], list(covariates.index[constant])


def check_collinearity(covariates: pd.DataFrame) -> None:
    """Fail if the QTL model would have no residual degrees of freedom (N - 2 - covariates < 1), or naming the first
    covariate that is a linear combination of the intercept and the covariates before it."""
    n = covariates.shape[1]
    residual_df = n - 2 - len(covariates)
    if residual_df < 1:
        raise InputError(
            f"{len(covariates)} covariates for {n} samples leave {residual_df} residual degrees of freedom; "
            f"use fewer PCs or known covariates"
        )
    basis = np.ones((n, 1))
    names: list[str] = []
    for name, row in covariates.iterrows():
        column = row.to_numpy(dtype=float)
        coef, *_ = np.linalg.lstsq(basis, column, rcond=None)
        residual = column - basis @ coef
        scale = np.linalg.norm(column - column.mean())
        if np.linalg.norm(residual) <= COLLINEAR_TOLERANCE * max(scale, 1.0):
            weights = coef[1:] * np.array([np.linalg.norm(basis[:, i + 1]) for i in range(len(names))])
            involved = [names[i] for i in np.flatnonzero(np.abs(weights) > 1e-6 * max(scale, 1.0))]
            raise InputError(
                f"covariates are collinear: '{name}' is a linear combination of the intercept"
                f"{''.join(', ' + repr(i) for i in involved)}; remove one of them"
            )
        basis = np.column_stack([basis, column])
        names.append(str(name))


def align(frame: pd.DataFrame, order: list[str], source: str) -> pd.DataFrame:
    """Columns of a covariates x samples frame put in ``order`` by ID; a missing sample is an error naming it."""
    present = set(frame.columns)
    missing = [s for s in order if s not in present]
    if missing:
        raise InputError(f"{source}: sample '{missing[0]}' of the phenotype BED is missing ({len(missing)} missing in all)")
    return frame[order]


def genotype_pc_rows(pcs: pd.DataFrame, order: list[str], k: int, source: str) -> pd.DataFrame:
    """Rows genotype_PC1..k (covariates x samples in ``order``) from an eigenvec table (individuals x PCs)."""
    if k > pcs.shape[1]:
        raise InputError(
            f"{source}: {k} genotype PCs requested but only {pcs.shape[1]} computed "
            f"(plink2 computes at most N - 1 PCs for N samples)"
        )
    rows = align(pcs.iloc[:, :k].T, order, source)
    rows.index = [f"genotype_PC{i + 1}" for i in range(k)]
    return rows


def assemble(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack aligned covariate blocks (genotype PCs, expression factors, known covariates) into one float table."""
    table = pd.concat(parts, axis=0).astype(float)
    check_unique(table.index, "covariate", "assembled covariates")
    return table


def warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)
