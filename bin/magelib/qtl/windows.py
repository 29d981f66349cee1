"""Genotype windows for the cis pass: genotypes loaded, MAF-filtered, mean-imputed and residualised in fixed
genomic bins, cached while windows move along a chromosome, with twin (identical-genotype) labels per bin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.vcf import allele_counts, impute_mean
from .kernels import Residualiser, twin_labels, unit_rows

BIN_BP = 250_000  # genotypes are loaded and residualised in fixed bins of this many bp


@dataclass
class GenotypeWindow:
    """Variants of one cis window: positions, IDs, allele counts, residualised unit-norm genotypes and norms.

    The genotype rows g are held as row blocks (views into the cached bins) and joined only when asked for: the
    permutation pass needs just their products with the phenotype and the float32 kernel rows.
    """

    pos: np.ndarray
    ids: np.ndarray
    af: np.ndarray
    ma_samples: np.ndarray
    ma_count: np.ndarray
    g_blocks: list[np.ndarray]  # row blocks of g: variants x samples, residualised, unit norm (float64)
    norm: np.ndarray  # norms of the residuals before scaling (for slopes)
    twin: np.ndarray  # variants with equal twin labels have identical dosages (so identical rows of g)
    kernel: np.ndarray | None = None  # float32 rows of g, one per set of twins (set by GenotypeBins)

    ARRAYS = ("pos", "ids", "af", "ma_samples", "ma_count", "norm", "twin")  # one entry per variant

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def g(self) -> np.ndarray:
        if len(self.g_blocks) != 1:
            self.g_blocks = [np.concatenate(self.g_blocks)]
        return self.g_blocks[0]

    def correlate(self, y: np.ndarray) -> np.ndarray:
        """y @ g.T (phenotypes x variants) without joining the blocks."""
        return np.concatenate([y @ block.T for block in self.g_blocks], axis=-1)

    def distinct_rows(self) -> np.ndarray:
        """Rows of g with distinct dosages (the first of each set of twins), in window order: the permutation
        kernel needs only the max |r| over variants, which twins cannot change."""
        return np.sort(np.unique(self.twin, return_index=True)[1])


class GenotypeBins:
    """Genotypes for the mapped samples, MAF-filtered, mean-imputed and residualised in fixed genomic bins.

    Bins are cached and evicted as windows move right along a chromosome, so memory follows the window, not the
    chunk or the chromosome. Each bin also keeps the float32 kernel rows of its distinct genotypes.
    """

    def __init__(self, source, sample_index: np.ndarray, residualiser: Residualiser, maf: float):
        self.source, self.sample_index, self.residualiser, self.maf = source, sample_index, residualiser, maf
        self.cache: dict[tuple[str, int], GenotypeWindow] = {}

    def _bin(self, chrom: str, b: int) -> GenotypeWindow:
        key = (chrom, b)
        if key not in self.cache:
            table, dosage = self.source.load(chrom, b * BIN_BP, (b + 1) * BIN_BP - 1, self.sample_index)
            counts = allele_counts(dosage)
            keep = (counts["maf"] >= self.maf) & (counts["maf"] > 0)
            dosage = impute_mean(dosage[keep])
            g, norm = unit_rows(self.residualiser.residualise(dosage))
            twin = twin_labels(dosage)
            self.cache[key] = GenotypeWindow(
                table["pos"].to_numpy()[keep],
                table["variant_id"].to_numpy()[keep],
                counts["af"][keep],
                counts["ma_samples"][keep],
                counts["ma_count"][keep],
                [g],
                norm,
                twin,
                g[np.unique(twin)].astype(np.float32),
            )
        return self.cache[key]

    def window(self, chrom: str, lo: int, hi: int) -> GenotypeWindow:
        """Variants with lo <= pos <= hi, as fresh arrays, with their kernel rows."""
        first, last = max(lo, 0) // BIN_BP, max(hi, 0) // BIN_BP
        for key in [k for k in self.cache if k[0] != chrom or k[1] < first]:
            del self.cache[key]
        parts = [self._bin(chrom, b) for b in range(first, last + 1)]
        spans = [np.searchsorted(p.pos, [lo, hi + 1]) for p in parts]
        arrays = {
            f: np.concatenate([getattr(p, f)[a:b] for p, (a, b) in zip(parts, spans, strict=True)]) for f in GenotypeWindow.ARRAYS
        }
        # twin labels are bin-local row numbers: shift them so that labels of different bins never meet
        offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
        arrays["twin"] += np.repeat(offsets, [b - a for a, b in spans])
        kernel = np.concatenate([bin_kernel_rows(p, a, b) for p, (a, b) in zip(parts, spans, strict=True)])
        blocks = [p.g[a:b] for p, (a, b) in zip(parts, spans, strict=True) if b > a] or [parts[0].g[:0]]
        return GenotypeWindow(**arrays, g_blocks=blocks, kernel=kernel)


def bin_kernel_rows(part: GenotypeWindow, a: int, b: int) -> np.ndarray:
    """The kernel rows of a bin for its variants a..b-1: the whole kernel for an inner bin, else the twin sets
    that have a member in the span (whose first member may lie outside it)."""
    if a == 0 and b == len(part):
        return part.kernel
    rows = np.unique(np.searchsorted(np.unique(part.twin), part.twin[a:b]))
    return part.kernel[rows]


def kernel_rows(window: GenotypeWindow, float32: bool) -> np.ndarray:
    """The genotype rows the permutation kernel multiplies: one per set of twins, float32 unless checking."""
    if float32 and window.kernel is not None:
        return window.kernel
    return window.g[window.distinct_rows()].astype(np.float32 if float32 else np.float64)
