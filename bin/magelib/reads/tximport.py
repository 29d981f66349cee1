"""Transcript-to-gene aggregation of Salmon ``quant.sf`` files with R tximport's semantics.

tximport(type = "salmon", txOut = FALSE, countsFromAbundance = "no") computes, per gene and library:
- counts    = sum of the transcripts' NumReads;
- abundance = sum of the transcripts' TPM;
- length    = TPM-weighted mean of the transcripts' length column. Where a gene's TPM is 0 in a library the
  weighted mean is 0/0; tximport (``replaceMissingLength``) fills it with the geometric mean of that gene's lengths
  in the libraries where it is expressed, or, if the gene is expressed in no library, with the arithmetic mean
  over the gene's transcripts of each transcript's mean length across libraries.

Transcript names of the form ``ENST...|ENSG...|...`` (GENCODE FASTA headers without ``--gencode``) are reduced to
the first field, as tximport's ``ignoreAfterBar``. Libraries are streamed one file at a time into preallocated
libraries x genes arrays, so memory is the three gene matrices plus one quant.sf.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..cli import InputError

QUANT_COLUMNS = ["Name", "Length", "EffectiveLength", "TPM", "NumReads"]
LENGTH_COLUMNS = ("Length", "EffectiveLength")


@dataclass
class GeneMatrices:
    """Genes x libraries matrices (rows ``genes``, columns ``samples``)."""

    genes: pd.Index
    samples: list[str]
    counts: np.ndarray
    tpm: np.ndarray
    length: np.ndarray

    def frame(self, which: str) -> pd.DataFrame:
        return pd.DataFrame(getattr(self, which), index=self.genes, columns=self.samples)


@dataclass
class Quant:
    """One quant.sf: transcript names and the four numeric columns as float64 arrays."""

    names: pa.ChunkedArray
    columns: dict[str, np.ndarray]

    def same_names(self, other: Quant) -> bool:
        return self.names.equals(other.names)


def read_quant(path: str | os.PathLike) -> Quant:
    """One quant.sf, parsed by pyarrow (fast path); any problem is located by the slower pandas reader."""
    types = {"Name": pa.string(), **{column: pa.float64() for column in QUANT_COLUMNS[1:]}}
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
    except (pa.ArrowException, OSError):
        return _read_quant_checked(path)
    if table.column_names != QUANT_COLUMNS or table.num_rows == 0:
        return _read_quant_checked(path)
    columns = {column: table.column(column).to_numpy() for column in QUANT_COLUMNS[1:]}
    nulls = any(table.column(c).null_count for c in QUANT_COLUMNS)
    if nulls or not all(np.isfinite(v).all() and (v >= 0).all() for v in columns.values()):
        return _read_quant_checked(path)
    return Quant(table.column("Name"), columns)


def _read_quant_checked(path: str | os.PathLike) -> Quant:
    """pandas reader that names the line and column of the first bad value (or accepts the file)."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"Name": str}, engine="c")
    except FileNotFoundError as err:
        raise InputError(f"{path}: quant.sf not found") from err
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot parse quant.sf ({err})") from err
    if list(frame.columns) != QUANT_COLUMNS:
        raise InputError(f"{path}: header must be {' '.join(QUANT_COLUMNS)}, found {' '.join(map(str, frame.columns))}")
    if frame.empty:
        raise InputError(f"{path}: quant.sf has no transcripts")
    if frame["Name"].isna().any():
        raise InputError(f"{path}: line {int(np.flatnonzero(frame['Name'].isna())[0]) + 2}: empty transcript name")
    columns = {}
    for column in QUANT_COLUMNS[1:]:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if len(bad):
            row = bad[0]
            raise InputError(
                f"{path}: line {row + 2}, column '{column}': value '{frame[column].iat[row]}' for transcript "
                f"'{frame['Name'].iat[row]}' is not a finite non-negative number"
            )
        columns[column] = values
    return Quant(pa.chunked_array([pa.array(frame["Name"].tolist(), type=pa.string())]), columns)


def transcript_ids(names: pd.Series) -> np.ndarray:
    """Quant names reduced to the transcript ID (text before the first '|', as tximport's ignoreAfterBar)."""
    return names.str.split("|", n=1).str[0].to_numpy(dtype=object)


def gene_index(names: pd.Series, tx2gene: pd.Series, source: str, drop_unknown: bool) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Sorted gene IDs, each transcript's gene position, and the mask of transcripts that have a gene."""
    ids = transcript_ids(names)
    duplicated = pd.Index(ids).duplicated()
    if duplicated.any():
        raise InputError(f"{source}: transcript '{ids[np.argmax(duplicated)]}' appears twice")
    genes_of = tx2gene.reindex(ids).to_numpy(dtype=object)
    known = ~pd.isna(genes_of)
    if not known.all():
        missing = ids[~known]
        if not drop_unknown:
            raise InputError(
                f"{source}: transcript '{missing[0]}' is not in the GTF ({len(missing)} of {len(ids)} transcripts "
                "missing); use the GTF the transcript FASTA was made from, or --drop-unknown-transcripts"
            )
        print(
            f"WARNING: dropped {len(missing)} of {len(ids)} transcripts absent from the GTF (e.g. '{missing[0]}')",
            file=sys.stderr,
        )
    if not known.any():
        raise InputError(f"{source}: none of the transcripts is in the GTF (e.g. '{ids[0]}'); check the annotation version")
    genes = pd.Index(sorted(set(genes_of[known])), name="gene_id")
    positions = genes.get_indexer(genes_of[known])
    return genes, positions, known


def summarise(
    quant_files: dict[str, str | os.PathLike],
    tx2gene: pd.Series,
    length_col: str = "EffectiveLength",
    drop_unknown: bool = False,
) -> GeneMatrices:
    """Gene counts, TPM and lengths over all libraries (``quant_files``: library ID -> quant.sf), tximport-exact."""
    if length_col not in LENGTH_COLUMNS:
        raise ValueError(f"length column must be one of {LENGTH_COLUMNS}")
    if not quant_files:
        raise InputError("no quant.sf files given")
    samples = list(quant_files)
    first_path = quant_files[samples[0]]
    first = read_quant(first_path)
    genes, positions, known = gene_index(first.names.to_pandas(), tx2gene, str(first_path), drop_unknown)
    n_genes, n_tx = len(genes), int(known.sum())
    transcripts_per_gene = np.bincount(positions, minlength=n_genes)

    # libraries x genes while filling (one contiguous row per library); transposed once at the end
    counts = np.empty((len(samples), n_genes))
    tpm = np.empty((len(samples), n_genes))
    length = np.empty((len(samples), n_genes))
    tx_length_sum = np.zeros(n_tx)  # per transcript, summed over libraries, for the all-zero fallback

    for j, sample in enumerate(samples):
        path = quant_files[sample]
        quant = first if j == 0 else read_quant(path)
        if j and not quant.same_names(first):
            _raise_name_mismatch(path, first_path, quant.names.to_pandas(), first.names.to_pandas())
        tx_tpm = quant.columns["TPM"][known]
        tx_length = quant.columns[length_col][known]
        counts[j] = np.bincount(positions, weights=quant.columns["NumReads"][known], minlength=n_genes)
        tpm[j] = np.bincount(positions, weights=tx_tpm, minlength=n_genes)
        weighted = np.bincount(positions, weights=tx_tpm * tx_length, minlength=n_genes)
        with np.errstate(invalid="ignore", divide="ignore"):
            length[j] = np.where(tpm[j] > 0, weighted / tpm[j], np.nan)
        tx_length_sum += tx_length

    mean_tx_length = np.bincount(positions, weights=tx_length_sum / len(samples), minlength=n_genes) / transcripts_per_gene
    length = fill_missing_lengths(length.T, mean_tx_length)
    return GeneMatrices(genes, samples, counts.T, tpm.T, length)  # transposed views: no copy of the matrices


def fill_missing_lengths(length: np.ndarray, mean_tx_length: np.ndarray) -> np.ndarray:
    """tximport's replaceMissingLength on a genes x libraries matrix with NaN where the gene's TPM is 0.

    A gene missing in some libraries gets the geometric mean of its lengths in the others; a gene missing in all
    gets ``mean_tx_length`` (its transcripts' mean length, averaged over libraries).
    """
    length = np.array(length, dtype=float, order="C")
    missing = np.isnan(length)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(missing, 0.0, np.log(np.where(missing, 1.0, length)))
        present = (~missing).sum(axis=1)
        geometric = np.exp(logs.sum(axis=1) / present)
    fill = np.where(present > 0, geometric, mean_tx_length)
    rows, cols = np.nonzero(missing)
    length[rows, cols] = fill[rows]
    return length


def _raise_name_mismatch(path, first_path, names: pd.Series, first_names: pd.Series) -> None:
    if len(names) != len(first_names):
        raise InputError(
            f"{path}: {len(names)} transcripts, but {first_path} has {len(first_names)}; quantify all libraries with one index"
        )
    row = int(np.flatnonzero(names.to_numpy() != first_names.to_numpy())[0])
    raise InputError(
        f"{path}: line {row + 2}: transcript '{names.iat[row]}' where {first_path} has '{first_names.iat[row]}'; "
        "quantify all libraries with one index"
    )
