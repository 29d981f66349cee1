"""The mapping problem of one chunk: samples, covariates (FastQTL coding), residualiser, genotype bins and the
phenotype units (a phenotype, or a group of phenotypes in grouped mode)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cli import InputError, log
from ..io.bed import bed_layout, read_bed_positions, read_bed_values, read_groups
from ..io.genotype_store import open_genotypes
from ..io.tables import align_samples, read_covariates
from ..io.vcf import check_contigs
from .kernels import Residualiser
from .windows import GenotypeBins, GenotypeWindow


def covariate_matrix(path: str | None, samples: list[str]) -> tuple[np.ndarray, list[str]]:
    """Covariates for the given samples (n x k), FastQTL semantics: NA -> row mean; text rows -> dummies.

    A text covariate with L levels becomes L - 1 indicator columns (sorted levels, the first is the reference);
    one with a single level is dropped. k (after dummy coding) is the count used in df = N - 2 - k.
    """
    if path is None:
        return np.empty((len(samples), 0)), []
    frame = read_covariates(path)
    align_samples(samples, list(frame.columns), "covariates", str(path))
    frame = frame[samples]
    columns, names = [], []
    for name, row in frame.iterrows():
        text = row.astype(str).str.strip()
        missing = text.isin(["NA", "nan", "NaN", ""])
        numeric = pd.to_numeric(text.where(~missing), errors="coerce")
        if (numeric.notna() | missing).all():
            values = numeric.to_numpy(dtype=float, copy=True)
            if np.isinf(values).any():
                raise InputError(f"{path}: covariate '{name}' has an infinite value")
            if missing.all():
                raise InputError(f"{path}: covariate '{name}' is missing for every sample")
            values[missing.to_numpy()] = np.nanmean(values)
            columns.append(values)
            names.append(str(name))
        else:
            levels = sorted(set(text[~missing]))
            for level in levels[1:]:
                indicator = (text == level).to_numpy(dtype=float, copy=True)
                indicator[missing.to_numpy()] = indicator[~missing.to_numpy()].mean()
                columns.append(indicator)
                names.append(f"{name}_{level}")
    matrix = np.column_stack(columns) if columns else np.empty((len(samples), 0))
    return matrix, names


def unit_starts(n_rows: int, groups: np.ndarray | None) -> np.ndarray:
    """Row index where each mapping unit (a phenotype, or a group) starts, plus n_rows at the end."""
    if groups is None:
        return np.arange(n_rows + 1)
    change = np.nonzero(np.r_[True, groups[1:] != groups[:-1]])[0]
    return np.r_[change, n_rows]


def chunk_rows(starts: np.ndarray, k: int, n: int) -> tuple[int, int]:
    """BED rows [lo, hi) of chunk k (1-based) of n over the units, as even as possible, in BED order."""
    if not 1 <= k <= n:
        raise InputError(f"--chunk {k} {n}: need 1 <= K <= N")
    n_units = len(starts) - 1
    sizes = [n_units // n + (1 if i < n_units % n else 0) for i in range(n)]
    first = sum(sizes[: k - 1])
    return int(starts[first]), int(starts[first + sizes[k - 1]])


@dataclass
class Unit:
    """One mapping unit: a phenotype, or a group of phenotypes sharing a window (grouped mode)."""

    ids: np.ndarray
    chrom: str
    tss: np.ndarray  # 1-based (BED start + 1), per phenotype
    values: np.ndarray  # phenotypes x samples, raw
    group: str | None


@dataclass
class Settings:
    window: int = 1_000_000
    maf: float = 0.01
    permutations: tuple[int, ...] = (1000, 10000)
    seed: int = 1
    float32: bool = True


class Problem:
    """Everything a chunk needs: samples, covariates, genotype bins and the phenotype units."""

    def __init__(
        self,
        genotypes: str,
        phenotypes: str,
        covariates: str | None,
        groups: str | None,
        chunk: tuple[int, int],
        settings: Settings,
    ):
        self.settings = settings
        fixed, self.samples = bed_layout(phenotypes)
        positions = read_bed_positions(phenotypes)
        self.groups = read_groups(groups, positions["phenotype_id"].to_numpy()) if groups else None
        self.source = open_genotypes(genotypes, self.samples)
        align_samples(self.samples, self.source.samples, "genotypes", genotypes)
        index = {s: i for i, s in enumerate(self.source.samples)}
        sample_index = np.array([index[s] for s in self.samples])
        self.absent = set(check_contigs(self.source.chromosomes, positions["chr"].tolist(), genotypes, phenotypes))
        cov, self.covariate_names = covariate_matrix(covariates, self.samples)
        self.residualiser = Residualiser(cov)
        if self.residualiser.dropped:
            log(
                f"warning: covariates are linearly dependent ({self.residualiser.dropped} dropped from the fit; "
                f"df still counts all {self.residualiser.k})"
            )
        self.df = len(self.samples) - 2 - self.residualiser.k
        if self.df < 1:
            raise InputError(f"{len(self.samples)} samples and {self.residualiser.k} covariates leave no degrees of freedom")
        self.bins = GenotypeBins(self.source, sample_index, self.residualiser, settings.maf)
        starts = unit_starts(len(positions), self.groups)
        self.lo, self.hi = chunk_rows(starts, *chunk)
        self.positions = positions.iloc[self.lo : self.hi].reset_index(drop=True)
        self.values = read_bed_values(phenotypes, self.lo, self.hi, fixed, self.samples)
        self.starts = starts[(starts >= self.lo) & (starts <= self.hi)] - self.lo
        self.n_units = len(self.starts) - 1

    def unit(self, i: int) -> Unit:
        a, b = self.starts[i], self.starts[i + 1]
        rows = self.positions.iloc[a:b]
        return Unit(
            rows["phenotype_id"].to_numpy(),
            str(rows["chr"].iat[0]),
            rows["start"].to_numpy() + 1,
            self.values[a:b],
            None if self.groups is None else str(self.groups[self.lo + a]),
        )

    def units(self) -> Iterator[Unit]:
        return (self.unit(i) for i in range(self.n_units))

    def cis_window(self, unit: Unit, anchor: int) -> GenotypeWindow:
        w = self.settings.window
        return self.bins.window(unit.chrom, anchor - w, anchor + w)
