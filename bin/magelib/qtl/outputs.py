"""cis-QTL output tables: column layouts, the permutation/independent TSV, the nominal parquet per chromosome
and the significant pairs after FDR. Written atomically and byte-identically on reruns."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pandas as pd

from ..cli import InputError
from ..io.atomic import atomic_open, atomic_path

PERMUTATION_COLUMNS = [
    "phenotype_id", "num_var", "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "variant_id", "tss_distance",
    "ma_samples", "ma_count", "af", "pval_nominal", "slope", "slope_se", "pval_perm", "pval_beta",
]  # fmt: skip
GROUP_COLUMNS = ["group_id", "group_size"]
EXTRA_COLUMNS = ["num_perm", "phenotype_chr", "phenotype_tss"]
NOMINAL_COLUMNS = [
    "phenotype_id",
    "variant_id",
    "tss_distance",
    "af",
    "ma_samples",
    "ma_count",
    "pval_nominal",
    "slope",
    "slope_se",
]


def table_columns(grouped: bool) -> list[str]:
    return PERMUTATION_COLUMNS + (GROUP_COLUMNS if grouped else []) + EXTRA_COLUMNS


def write_table(frame: pd.DataFrame, path: str) -> None:
    """TSV (gzip if the name ends in .gz, with a fixed header so reruns are byte-identical), %.10g floats, NA."""

    text = frame.to_csv(sep="\t", index=False, float_format="%.10g", na_rep="NA")
    with atomic_open(path, "wb") as handle:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as zipped:
                zipped.write(text.encode())
        else:
            handle.write(text.encode())


def read_table(path: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep="\t",
            na_values=["NA"],
            keep_default_na=False,
            dtype={"phenotype_id": str, "variant_id": str, "group_id": str},
        )
    except (OSError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read table ({err})") from err


NOMINAL_SCHEMA_TYPES = {
    "phenotype_id": "string", "variant_id": "string", "tss_distance": "int32", "af": "float32", "ma_samples": "int32",
    "ma_count": "int32", "pval_nominal": "float64", "slope": "float32", "slope_se": "float32",
}  # fmt: skip
ROW_GROUP = 1_000_000


def write_nominal(pairs: Iterator[tuple[str, pd.DataFrame]], prefix: str) -> list[str]:
    """Stream nominal pairs to PREFIX.cis_qtl_pairs.<chrom>.parquet (one file per chromosome, written atomically)."""
    import contextlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in NOMINAL_SCHEMA_TYPES.items()])
    writers: dict[str, pq.ParquetWriter] = {}
    pending: dict[str, list[pd.DataFrame]] = {}
    names = []
    with contextlib.ExitStack() as stack:

        def flush(chrom: str) -> None:
            table = pa.Table.from_pandas(pd.concat(pending.pop(chrom), ignore_index=True), schema=schema, preserve_index=False)
            writers[chrom].write_table(table)

        for chrom, frame in pairs:
            if chrom not in writers:
                name = f"{prefix}.cis_qtl_pairs.{chrom}.parquet"
                tmp = stack.enter_context(atomic_path(name))
                writers[chrom] = pq.ParquetWriter(tmp, schema)
                pending[chrom] = []
                names.append(name)
            pending[chrom].append(frame)
            if sum(len(f) for f in pending[chrom]) >= ROW_GROUP:
                flush(chrom)
        for chrom in list(pending):
            if pending[chrom]:
                flush(chrom)
        for writer in writers.values():
            writer.close()
    return names


def significant_pairs(nominal_files: list[str], thresholds: pd.Series, path: str) -> int:
    """Stream the nominal parquets; keep pairs of significant phenotypes with pval_nominal < threshold (strict).

    ``thresholds`` maps phenotype_id -> pval_nominal_threshold. Writes TSV(.gz) atomically; returns the count.
    """
    import pyarrow.parquet as pq

    count = 0
    with atomic_open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(("\t".join(NOMINAL_COLUMNS + ["pval_nominal_threshold"]) + "\n").encode())
        for name in nominal_files:
            try:
                parquet = pq.ParquetFile(name)
            except OSError as err:
                raise InputError(f"{name}: cannot read nominal parquet ({err})") from err
            for batch in parquet.iter_batches(batch_size=1_000_000):
                frame = batch.to_pandas()
                threshold = frame["phenotype_id"].map(thresholds)
                keep = threshold.notna() & (frame["pval_nominal"] < threshold)
                if keep.any():
                    selected = frame[keep].assign(pval_nominal_threshold=threshold[keep])
                    out.write(selected.to_csv(sep="\t", index=False, header=False, float_format="%.10g", na_rep="NA").encode())
                    count += int(keep.sum())
    return count
