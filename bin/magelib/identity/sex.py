"""Sex check from expression: the sample table, XIST and chrY marker genes, scores and the inferred sex."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from ..cli import InputError

SEX_CODES = {"female": "female", "f": "female", "2": "female", "male": "male", "m": "male", "1": "male"}
XIST_GENES = ("XIST",)
CHRY_GENES = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY")


def read_sample_table(path: str | os.PathLike) -> pd.DataFrame:
    """The samplesheet-derived table (one row per library), indexed by library ID; needs sample and individual."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read sample table ({err})") from err
    if "sample" not in table.columns and "library" in table.columns:
        table = table.rename(columns={"library": "sample"})
    for column in ("sample", "individual"):
        if column not in table.columns:
            raise InputError(f"{path}: sample table has no '{column}' column (found {', '.join(table.columns)})")
    empty = table.index[(table["sample"] == "") | (table["individual"] == "")]
    if len(empty):
        raise InputError(f"{path} line {empty[0] + 2}: empty sample or individual")
    duplicated = table["sample"][table["sample"].duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: duplicate sample '{duplicated.iat[0]}'")
    if "sex" not in table.columns:
        table["sex"] = ""
    table["sex"] = [SEX_CODES.get(str(s).strip().lower(), "unknown") for s in table["sex"]]
    return table.set_index("sample", drop=False)


def marker_genes(gene_table: pd.DataFrame, names: tuple[str, ...] | list[str]) -> list[str]:
    """gene_ids whose gene_name is in ``names`` (GTF gene table from magelib.io.gtf.genes)."""
    return sorted(gene_table.index[gene_table["gene_name"].isin(list(names))])


def sex_scores(tpm: pd.DataFrame, xist_ids: list[str], chry_ids: list[str]) -> pd.DataFrame:
    """Per library: log2(XIST TPM + 1) and log2(sum of chrY-gene TPM + 1). Markers absent from the matrix count as 0."""
    xist = tpm.reindex(xist_ids).fillna(0.0).sum(axis=0)
    chry = tpm.reindex(chry_ids).fillna(0.0).sum(axis=0)
    return pd.DataFrame({"xist_log2tpm": np.log2(xist + 1.0), "chry_log2tpm": np.log2(chry + 1.0)})


def infer_sex(scores: pd.DataFrame, xist_min_tpm: float, chry_min_tpm: float) -> pd.Series:
    """female: XIST on and chrY off; male: chrY on and XIST off; otherwise ambiguous (both on: XXY or a mixture;
    both off: XIST erosion in a female line or loss of Y in a male one). "On" means TPM >= the threshold."""
    xist_on = scores["xist_log2tpm"] >= math.log2(xist_min_tpm + 1.0)
    chry_on = scores["chry_log2tpm"] >= math.log2(chry_min_tpm + 1.0)
    inferred = np.where(xist_on & ~chry_on, "female", np.where(chry_on & ~xist_on, "male", "ambiguous"))
    return pd.Series(inferred, index=scores.index, name="inferred_sex")
