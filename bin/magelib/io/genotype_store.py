"""The prepared genotype store (written by ``prepare_genotypes.py``, read by ``cis_qtl.py``), and ``open_genotypes``,
which opens a store or a plain VCF/BCF behind one region-reading interface (``load``, ``chromosomes``, ``samples``).

The store is a directory holding

- ``manifest.json``: ``{"format": "mage-genotype-store", "version": 1, "samples": [...], "dosage": "GT" | "DS",
  "maf": <filter used>, "chrx": <policy>, "par_regions": [...], "chromosomes": {<chrom>: <n variants>}, ...}``;
- ``samples.txt``: one individual per line, the column order of every dosage matrix;
- per chromosome ``<chrom>.dosage.npy``: variants x samples, ALT-allele dosage, memory-mappable;
  ``int8`` (0/1/2, -1 = missing) when built from GT, ``float32`` (NaN = missing) when the VCF has DS;
- per chromosome ``<chrom>.variants.parquet``: ``chrom pos variant_id ref alt af`` in the same row order, sorted by
  position; ``pos`` is 1-based (VCF POS), ``variant_id`` is ``chr_pos_ref_alt`` (unique), ``af`` the ALT frequency
  among the store's samples (missing genotypes excluded).

A region is read by binary search on ``pos`` and a slice of the memory-mapped matrix, so memory follows the region,
never the chromosome. The genotype coding is that of ``magelib.io.vcf``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..cli import InputError
from .vcf import VARIANT_COLUMNS, VcfGenotypes, empty_region

STORE_FORMAT = "mage-genotype-store"
STORE_VERSION = 1


class NpyAppender:
    """Write a 2-D .npy file row block by row block; the header (fixed 128 bytes) gets the final shape at close."""

    HEADER_BYTES = 128

    def __init__(self, path: Path, dtype: np.dtype, n_columns: int):
        self.path, self.dtype, self.n_columns, self.n_rows = path, np.dtype(dtype), n_columns, 0
        self.handle = open(path, "wb")
        self.handle.write(self._header())

    def _header(self) -> bytes:
        text = repr({"descr": self.dtype.str, "fortran_order": False, "shape": (self.n_rows, self.n_columns)})
        prefix = b"\x93NUMPY\x01\x00"
        length = self.HEADER_BYTES - len(prefix) - 2
        text = text.ljust(length - 1) + "\n"
        return prefix + np.uint16(length).tobytes() + text.encode("latin1")

    def append(self, rows: np.ndarray) -> None:
        self.handle.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.n_rows += len(rows)

    def close(self) -> None:
        self.handle.seek(0)
        self.handle.write(self._header())
        self.handle.close()


@dataclass
class StoreWriter:
    """Writes one chromosome of the store: the dosage matrix and the variants table, streamed in blocks."""

    directory: Path
    chrom: str
    dtype: np.dtype
    n_samples: int
    seen_ids: set = field(default_factory=set)

    def __post_init__(self):
        self.matrix = NpyAppender(self.directory / f"{self.chrom}.dosage.npy", self.dtype, self.n_samples)
        self.tables: list[pd.DataFrame] = []
        self.duplicates = 0

    def append(self, table: pd.DataFrame, dosage: np.ndarray) -> None:
        keep = np.array([vid not in self.seen_ids for vid in table["variant_id"]], dtype=bool)
        # an exact duplicate record (same chrom, pos, ref, alt) keeps its first copy
        keep &= ~table["variant_id"].duplicated().to_numpy()
        self.duplicates += int((~keep).sum())
        table, dosage = table[keep], dosage[keep]
        self.seen_ids.update(table["variant_id"])
        if self.dtype == np.int8:
            coded = np.where(np.isnan(dosage), -1, np.rint(dosage)).astype(np.int8)
        else:
            coded = dosage.astype(np.float32)
        self.matrix.append(coded)
        self.tables.append(table[VARIANT_COLUMNS])

    def close(self) -> int:
        self.matrix.close()
        table = pd.concat(self.tables, ignore_index=True) if self.tables else pd.DataFrame(columns=VARIANT_COLUMNS)
        table = table.astype({"chrom": str, "pos": np.int64, "variant_id": str, "ref": str, "alt": str, "af": np.float64})
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), self.directory / f"{self.chrom}.variants.parquet")
        return self.matrix.n_rows


def write_manifest(directory: Path, manifest: dict) -> None:
    with open(directory / "manifest.json", "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write("\n")
    (directory / "samples.txt").write_text("".join(f"{s}\n" for s in manifest["samples"]))


class GenotypeStore:
    """Read access to a prepared genotype store (see the module docstring)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.manifest = json.loads((self.path / "manifest.json").read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"{path}: not a genotype store (manifest.json unreadable: {err})") from err
        if self.manifest.get("format") != STORE_FORMAT or self.manifest.get("version") != STORE_VERSION:
            raise InputError(
                f"{path}: unsupported genotype store format {self.manifest.get('format')} v{self.manifest.get('version')}"
            )
        self.samples: list[str] = list(self.manifest["samples"])
        self.chromosomes: list[str] = list(self.manifest["chromosomes"])
        self._variants: dict[str, pd.DataFrame] = {}
        self._matrix: dict[str, np.ndarray] = {}

    def reopen(self) -> None:
        """Nothing to do after a fork: the dosage matrices are read-only memory maps."""

    def variants(self, chrom: str) -> pd.DataFrame:
        if chrom not in self._variants:
            table = pd.read_parquet(self.path / f"{chrom}.variants.parquet")
            self._variants = {chrom: table}  # one chromosome at a time: genes are processed in order
            self._matrix = {chrom: np.load(self.path / f"{chrom}.dosage.npy", mmap_mode="r")}
        return self._variants[chrom]

    def load(self, chrom: str, start: int, end: int, sample_index: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Variants with start <= pos <= end and their dosages (float64, NaN missing) for the given sample columns."""
        if chrom not in self.chromosomes:
            return empty_region(len(sample_index))
        table = self.variants(chrom)
        lo, hi = np.searchsorted(table["pos"].to_numpy(), [start, end + 1])
        block = np.asarray(self._matrix[chrom][lo:hi])[:, sample_index]
        if block.dtype == np.int8:
            dosage = block.astype(float)
            dosage[block < 0] = np.nan
        else:
            dosage = block.astype(float)
        return table.iloc[lo:hi, :5].reset_index(drop=True), dosage


def open_genotypes(path: str | os.PathLike, samples: list[str] | None = None):
    """A GenotypeStore for a store directory, else a VcfGenotypes for a VCF/BCF file (parsing only ``samples``)."""
    if Path(path).is_dir():
        return GenotypeStore(path)
    return VcfGenotypes(path, samples)
