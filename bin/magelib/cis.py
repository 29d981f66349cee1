"""cis-QTL mapping engine: residualisation, nominal scan, permutations (FastQTL numerics, tensorQTL-style kernels).

Model (FastQTL, GTEx fork): phenotypes and genotypes are residualised on [1, covariates] (column-pivoted QR,
tolerance 1e-7 as FastQTL/R) and scaled to unit norm, so r = g . y; df = N - 2 - k (k covariates after dummy
coding); t^2 = df r^2 / (1 - r^2); p = P(F(1, df) > t^2); slope = r sd(y_res) / sd(g_res); slope_se = |slope| / |t|.
The cis window of a phenotype is |POS - (BED start + 1)| <= window; variants need MAF >= maf from rounded dosages.
The best variant has the largest |r|; ties go to the smaller |distance| (then the upstream one).

Permutations follow FastQTL: the *raw* phenotype is shuffled and then residualised. With y centred and scaled,
r_perm = g . (P y) / ||M P y|| where ||M P y||^2 = 1 - ||Q' P y||^2 (Q spans [1, covariates]), so a block of B
shuffles of one phenotype is one GEMM (cis variants x samples) x (samples x B), in float32 (checked against float64
in tests), followed by a column max of |r|. Adaptive stopping as FastQTL ``--permute 1000 10000``: blocks are
computed until 1000 shuffles beat the observed |r| or 10,000 are done, and the result is cut at the exact shuffle
where the rule stops, so the block size does not change the answer. Grouped mode (sQTL) applies one shuffle to all
phenotypes of a group, the window anchored on the group's first phenotype, and takes the max over all of them.

Variants with identical genotypes ("twins", perfect LD) enter the permutation GEMM once: they share |r| under
every shuffle and only the max is needed. Units run in forked worker processes (``--threads``), each with
single-threaded BLAS.

Reproducibility: one shuffle matrix per run, drawn from ``--seed`` only (the same for every phenotype, as tensorQTL),
and every matrix product has operands determined by the phenotype alone (genotypes are residualised in fixed
genomic bins, from which each window is assembled), because BLAS results depend on operand shapes; BLAS never
splits a sum across threads. So a rerun, any ``--chunk`` split and any ``--threads`` give byte-identical results.
"""

from __future__ import annotations

import gzip
import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import qr

from . import beta
from .cli import InputError
from .genotypes import allele_counts, check_contigs, impute_mean, open_genotypes
from .io import align_samples, check_unique, read_covariates

BIN_BP = 250_000  # genotypes are loaded and residualised in fixed bins of this many bp
PERM_BLOCK = 1000  # shuffles per GEMM block
MAX_BLOCK_COLUMNS = 4096  # grouped mode: phenotypes x shuffles per GEMM block (bounds its memory)
QR_TOLERANCE = 1e-7  # FastQTL / R rank tolerance
FIXED_BED_NAMES = {"length", "strand", "gid", "pid", "score", "group", "group_id", "gene_id", "gene", "name"}

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


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Inputs: phenotype BED (4 or more fixed columns), covariates, phenotype groups
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Residualisation and genotype windows
# ---------------------------------------------------------------------------------------------------------------


class Residualiser:
    """Orthonormal basis Q of [1, covariates] (column-pivoted QR, FastQTL's rank tolerance)."""

    def __init__(self, covariates: np.ndarray):
        n = covariates.shape[0]
        design = np.column_stack([np.ones(n), covariates])
        q, r, _ = qr(design, mode="economic", pivoting=True)
        diag = np.abs(np.diag(r))
        self.rank = int(np.sum(diag > QR_TOLERANCE * diag[0]))
        self.Q = np.ascontiguousarray(q[:, : self.rank])
        self.k = covariates.shape[1]
        if self.rank < design.shape[1]:
            log(
                f"warning: covariates are linearly dependent ({design.shape[1] - self.rank} dropped from the fit; "
                f"df still counts all {self.k})"
            )

    def extended(self, extra: np.ndarray) -> Residualiser:
        """A residualiser with extra columns (already residualised on Q, samples in columns: rows = variables)."""
        new = object.__new__(Residualiser)
        q, r = np.linalg.qr(extra.T)
        keep = np.abs(np.diag(r)) > QR_TOLERANCE * max(np.abs(np.diag(r)).max(), 1e-300)
        new.Q = np.ascontiguousarray(np.column_stack([self.Q, q[:, keep]]))
        new.rank = new.Q.shape[1]
        new.k = self.k + extra.shape[0]
        return new

    def residualise(self, rows: np.ndarray) -> np.ndarray:
        """Residuals of each row (samples in columns)."""
        return rows - (rows @ self.Q) @ self.Q.T


def twin_labels(dosage: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row with exactly the same values (variants in perfect LD over the
    mapped samples; about 40 % of the cis variants of GEUVADIS chr22)."""
    if len(dosage) == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.ascontiguousarray(dosage).view(np.dtype((np.void, dosage.dtype.itemsize * dosage.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return first[inverse.ravel()].astype(np.int64)


def unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit norm (rows with norm ~0, e.g. collinear with the covariates, become 0); returns (scaled, norms)."""
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    scale = np.where(norms > 1e-10 * np.sqrt(rows.shape[1]), 1.0 / np.where(norms > 0, norms, 1), 0.0)
    return rows * scale[:, None], norms


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


# ---------------------------------------------------------------------------------------------------------------
# The mapping problem of one chunk
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------------


def phenotype_residuals(values: np.ndarray, residualiser: Residualiser) -> tuple[np.ndarray, np.ndarray]:
    """Residualised unit-norm phenotypes and their residual norms."""
    return unit_rows(residualiser.residualise(np.atleast_2d(values)))


def nominal_stats(r: np.ndarray, df: float, y_norm: float, g_norm: np.ndarray) -> dict[str, np.ndarray]:
    """p-value, slope and slope SE from correlations on residuals (FastQTL)."""
    r = np.clip(r, -1.0, 1.0)
    r2 = r * r
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = df * r2 / (1.0 - r2)
        slope = np.where(g_norm > 0, r * y_norm / np.where(g_norm > 0, g_norm, 1), 0.0)
        slope_se = np.abs(slope) / np.sqrt(t2)
    return {"pval_nominal": beta.pvalue_from_r(r, df), "slope": slope, "slope_se": slope_se}


def best_index(r: np.ndarray, distance: np.ndarray) -> int:
    """Largest |r|; ties (within rounding) go to the smaller |distance|, then to the first."""
    absr = np.abs(r)
    top = absr.max()
    tied = np.nonzero(absr >= top * (1 - 1e-12))[0]
    return int(tied[np.argmin(np.abs(distance[tied]))])  # argmin returns the first minimum


def permutation_matrix(n_samples: int, n_perm: int, seed: int) -> np.ndarray:
    """One shuffle of the samples per row, from the seed alone (shared by every phenotype and chunk)."""
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(np.arange(n_samples, dtype=np.int32), (n_perm, 1)), axis=1)


def permuted_max_r(g: np.ndarray, y_centred: np.ndarray, basis: np.ndarray, shuffles: np.ndarray) -> np.ndarray:
    """max |r| over variants (and phenotypes) for each shuffle: the permutation kernel.

    g: variants x samples (float32 or float64, residualised, unit norm); y_centred: phenotypes x samples (centred,
    unit norm, raw); basis: samples x r orthonormal basis of [1, covariates]; shuffles: B x samples.
    Returns B values.
    """
    n_pheno, n = y_centred.shape
    permuted = y_centred[:, shuffles].reshape(-1, n)  # (phenotypes * B) x samples
    projected = permuted @ basis
    denom = np.sqrt(np.maximum(1.0 - np.einsum("ij,ij->i", projected, projected), 1e-30))
    numerator = g @ permuted.astype(g.dtype, copy=False).T  # variants x (phenotypes * B)
    # max |x| as max(max x, -min x): two read-only passes, cheaper than abs() in place and then max
    colmax = np.maximum(numerator.max(axis=0), -numerator.min(axis=0)).astype(float) / denom
    return colmax.reshape(n_pheno, -1).max(axis=0)


def run_permutations(
    g: np.ndarray, y_centred: np.ndarray, basis: np.ndarray, r_obs: float, shuffles: np.ndarray, plan: tuple[int, ...]
) -> np.ndarray:
    """Permuted max |r| with FastQTL's stopping rule: (N,) fixed, or (hits, max) adaptive."""
    block = max(1, min(PERM_BLOCK, MAX_BLOCK_COLUMNS // len(y_centred)))
    limit = plan[-1]
    results, hits = [], 0
    for start in range(0, limit, block):
        values = permuted_max_r(g, y_centred, basis, shuffles[start : min(start + block, limit)])
        if len(plan) == 2:
            better = np.cumsum(values >= abs(r_obs)) + hits
            stop = np.nonzero(better >= plan[0])[0]
            if len(stop):
                results.append(values[: stop[0] + 1])
                break
            hits = int(better[-1])
        results.append(values)
    return np.concatenate(results)


def kernel_rows(window: GenotypeWindow, float32: bool) -> np.ndarray:
    """The genotype rows the permutation kernel multiplies: one per set of twins, float32 unless checking."""
    if float32 and window.kernel is not None:
        return window.kernel
    return window.g[window.distinct_rows()].astype(np.float32 if float32 else np.float64)


def centred_unit(values: np.ndarray) -> np.ndarray:
    centred = values - values.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    return centred / np.where(norms > 0, norms, 1)[:, None]


@dataclass
class ScanResult:
    """Observed statistics of a unit in its window."""

    r: np.ndarray  # phenotypes x variants
    y_norm: np.ndarray
    best_pheno: int
    best_var: int
    distance: np.ndarray  # phenotypes x variants


def scan(unit: Unit, window: GenotypeWindow, residualiser: Residualiser, anchor: int) -> ScanResult:
    y, y_norm = phenotype_residuals(unit.values, residualiser)
    r = window.correlate(y)
    distance = window.pos[None, :] - np.broadcast_to(anchor, (len(y), 1))
    flat = best_index(r.ravel(), np.broadcast_to(distance, r.shape).ravel())
    p, v = divmod(flat, r.shape[1])
    return ScanResult(r, y_norm, p, v, distance)


def permutation_row(
    problem: Problem, unit: Unit, window: GenotypeWindow, residualiser: Residualiser, df: float, shuffles: np.ndarray
) -> dict:
    """The permutation-table row of one unit (phenotype or group)."""
    anchor = int(unit.tss[0])
    row: dict = {c: np.nan for c in PERMUTATION_COLUMNS}
    row.update(
        phenotype_id=unit.ids[0], num_var=len(window), variant_id=None, num_perm=0, phenotype_chr=unit.chrom, phenotype_tss=anchor
    )
    if unit.group is not None:
        row.update(group_id=unit.group, group_size=len(unit.ids))
    if len(window) == 0:
        return row
    result = scan(unit, window, residualiser, anchor)
    p, v = result.best_pheno, result.best_var
    r_obs = float(result.r[p, v])
    settings = problem.settings
    kernel = kernel_rows(window, settings.float32)
    r_perm = run_permutations(kernel, centred_unit(unit.values), residualiser.Q, r_obs, shuffles, settings.permutations)
    stats = nominal_stats(np.array([r_obs]), df, result.y_norm[p], window.norm[v : v + 1])
    row["kernel_rows"] = len(kernel)  # logged, not written
    row.update(beta.beta_approximation(r_perm, r_obs, df, len(window)))
    row.update(
        phenotype_id=unit.ids[p],
        variant_id=window.ids[v],
        tss_distance=int(window.pos[v] - anchor),
        ma_samples=int(window.ma_samples[v]),
        ma_count=int(window.ma_count[v]),
        af=float(window.af[v]),
        pval_nominal=float(stats["pval_nominal"][0]),
        slope=float(stats["slope"][0]),
        slope_se=float(stats["slope_se"][0]),
        pval_perm=(np.sum(r_perm >= abs(r_obs)) + 1) / (len(r_perm) + 1),
        num_perm=len(r_perm),
    )
    return row


def table_columns(grouped: bool) -> list[str]:
    return PERMUTATION_COLUMNS + (GROUP_COLUMNS if grouped else []) + EXTRA_COLUMNS


def map_permutations(problem: Problem, workers: int = 1) -> pd.DataFrame:
    """Permutation pass over the chunk: one row per phenotype (or group)."""
    settings = problem.settings
    shuffles = permutation_matrix(len(problem.samples), settings.permutations[-1], settings.seed)

    def task(problem: Problem, unit: Unit) -> dict:
        window = problem.cis_window(unit, int(unit.tss[0]))
        return permutation_row(problem, unit, window, problem.residualiser, problem.df, shuffles)

    rows = list(map_units(problem, task, workers))
    kernel_rows, cis_variants = sum(r.get("kernel_rows", 0) for r in rows), sum(r["num_var"] for r in rows)
    log(f"permutation kernel: {kernel_rows} distinct genotype rows for {cis_variants} cis variants (twins collapsed)")
    return pd.DataFrame(rows, columns=table_columns(problem.groups is not None))


def map_nominal(problem: Problem, workers: int = 1) -> Iterator[tuple[str, pd.DataFrame]]:
    """Nominal pass: yields (chromosome, all cis pairs of one phenotype)."""
    for pairs in map_units(problem, nominal_pairs, workers):
        yield from pairs


def nominal_pairs(problem: Problem, unit: Unit) -> list[tuple[str, pd.DataFrame]]:
    """(chromosome, all cis pairs) of each phenotype of a unit."""
    out = []
    for j, pid in enumerate(unit.ids):
        anchor = int(unit.tss[j])
        window = problem.cis_window(unit, anchor)
        if len(window) == 0:
            continue
        y, y_norm = phenotype_residuals(unit.values[j], problem.residualiser)
        r = window.correlate(y)[0]
        stats = nominal_stats(r, problem.df, y_norm[0], window.norm)
        pairs = {
            "phenotype_id": pid,
            "variant_id": window.ids,
            "tss_distance": (window.pos - anchor).astype(np.int32),
            "af": window.af.astype(np.float32),
            "ma_samples": window.ma_samples.astype(np.int32),
            "ma_count": window.ma_count.astype(np.int32),
            "pval_nominal": stats["pval_nominal"],
            "slope": stats["slope"].astype(np.float32),
            "slope_se": stats["slope_se"].astype(np.float32),
        }
        out.append((unit.chrom, pd.DataFrame(pairs)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Running the units of a chunk, in one process or in forked workers
# ---------------------------------------------------------------------------------------------------------------

_WORKER: dict = {}  # inside a worker process only: the problem and task it was forked with


def map_units(problem: Problem, task, workers: int = 1) -> Iterator:
    """task(problem, unit) for every unit of the chunk, yielded in unit order, with progress logging.

    With workers > 1 the units run in that many forked processes, which inherit the loaded problem, so every phase
    of a unit (window assembly, GEMM, beta fit) uses all cores, not only the BLAS calls. cis_qtl.py runs BLAS
    single-threaded in every process, and each product's operands are fixed by the unit alone, so the output is
    byte-identical for any number of workers and any chunking.
    """
    progress = Progress(problem.n_units)
    if workers <= 1 or problem.n_units < 2:
        for i, unit in enumerate(problem.units(), 1):
            yield task(problem, unit)
            progress(i)
        return
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(min(workers, problem.n_units), context, _start_worker, (problem, task))
    try:
        for i, result in enumerate(pool.map(_run_worker, range(problem.n_units)), 1):
            yield result
            progress(i)
    except BrokenProcessPool as err:
        # a worker was killed (most often by the out-of-memory killer): exit as a killed process would, so that
        # the pipeline's retry-with-more-memory rule (exit codes 130-145) applies, instead of failing as bad input
        raise WorkerKilled(
            "a worker process died (killed, e.g. out of memory); rerun with more memory or fewer --threads"
        ) from err
    finally:
        pool.shutdown(cancel_futures=True)


class WorkerKilled(Exception):
    """A forked worker died without raising (signal); cis_qtl.py exits with 137."""


def _start_worker(problem: Problem, task) -> None:
    problem.source.reopen()  # a file handle shared across a fork shares its offset
    _WORKER.update(problem=problem, task=task)


def _run_worker(i: int):
    problem = _WORKER["problem"]
    return _WORKER["task"](problem, problem.unit(i))


class Progress:
    """Logs 'i/total units done' at most every 30 s, and at the end."""

    def __init__(self, total: int):
        self.total, self.last = total, time.monotonic()

    def __call__(self, i: int) -> None:
        now = time.monotonic()
        if i == self.total or now - self.last > 30:
            self.last = now
            log(f"{i}/{self.total} units done")


# ---------------------------------------------------------------------------------------------------------------
# Kernel benchmark (called by benchmarks/)
# ---------------------------------------------------------------------------------------------------------------


def kernel_benchmark(n_variants: int = 10_000, n_samples: int = 731, n_perm: int = 1000, repeats: int = 3, seed: int = 1) -> dict:
    """GFLOP/s of the permutation kernel vs a plain numpy float32 matmul of the same shape.

    The kernel does the gather of shuffled phenotypes, the covariate projection, the GEMM and the column max;
    the plain matmul only the GEMM. FLOPs counted: 2 * variants * samples * shuffles.
    """
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n_variants, n_samples)).astype(np.float32)
    y = centred_unit(rng.standard_normal((1, n_samples)))
    basis = np.linalg.qr(np.column_stack([np.ones(n_samples), rng.standard_normal((n_samples, 20))]))[0]
    shuffles = permutation_matrix(n_samples, n_perm, seed)
    b = rng.standard_normal((n_samples, n_perm)).astype(np.float32)
    flops = 2.0 * n_variants * n_samples * n_perm

    def best_time(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    kernel = best_time(lambda: permuted_max_r(g, y, basis, shuffles))
    matmul = best_time(lambda: g @ b)
    return {
        "n_variants": n_variants,
        "n_samples": n_samples,
        "n_perm": n_perm,
        "kernel_seconds": kernel,
        "matmul_seconds": matmul,
        "kernel_gflops": flops / kernel / 1e9,
        "matmul_gflops": flops / matmul / 1e9,
    }


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------


def write_table(frame: pd.DataFrame, path: str) -> None:
    """TSV (gzip if the name ends in .gz, with a fixed header so reruns are byte-identical), %.10g floats, NA."""
    from .io import atomic_open

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

    from .io import atomic_path

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


# ---------------------------------------------------------------------------------------------------------------
# After FDR: significant pairs and MultiQC content (qtl_fdr.py)
# ---------------------------------------------------------------------------------------------------------------


def significant_pairs(nominal_files: list[str], thresholds: pd.Series, path: str) -> int:
    """Stream the nominal parquets; keep pairs of significant phenotypes with pval_nominal < threshold (strict).

    ``thresholds`` maps phenotype_id -> pval_nominal_threshold. Writes TSV(.gz) atomically; returns the count.
    """
    import pyarrow.parquet as pq

    from .io import atomic_open

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


QQ_BINS = np.linspace(0, 50, 2001)  # -log10 p histogram bins for the QQ plot (p < 1e-50 lands in the last bin)


def nominal_log_histogram(nominal_files: list[str]) -> np.ndarray:
    """Counts of -log10(pval_nominal) of every nominal pair in QQ_BINS (streamed; memory does not grow)."""
    import pyarrow.parquet as pq

    counts = np.zeros(len(QQ_BINS) - 1, dtype=np.int64)
    for name in nominal_files:
        for batch in pq.ParquetFile(name).iter_batches(columns=["pval_nominal"], batch_size=1_000_000):
            logp = -np.log10(np.clip(batch.column(0).to_numpy(zero_copy_only=False), 1e-300, 1))
            counts += np.histogram(np.minimum(logp, QQ_BINS[-1] - 1e-9), QQ_BINS)[0]
    return counts


def qq_points(logp_sorted_desc: np.ndarray, n_points: int = 400) -> list[list[float]]:
    """Thinned QQ points [expected -log10 p, observed -log10 p] from observed values sorted largest first."""
    n = len(logp_sorted_desc)
    if n == 0:
        return []
    ranks = np.unique(np.round(np.geomspace(1, n, n_points)).astype(int)) - 1
    expected = -np.log10((ranks + 0.5) / n)
    return [[round(float(e), 4), round(float(o), 4)] for e, o in zip(expected, logp_sorted_desc[ranks], strict=True)]


def qq_from_histogram(counts: np.ndarray, n_points: int = 400) -> list[list[float]]:
    """QQ points from a -log10 p histogram (bin midpoints as observed values)."""
    n = int(counts.sum())
    if n == 0:
        return []
    mids = (QQ_BINS[:-1] + QQ_BINS[1:]) / 2
    cumulative = np.cumsum(counts[::-1])  # number of pairs at or above each bin, largest -log10 p first
    ranks = np.unique(np.round(np.geomspace(1, n, n_points)).astype(int))
    observed = mids[::-1][np.searchsorted(cumulative, ranks)]
    expected = -np.log10((ranks - 0.5) / n)
    return [[round(float(e), 4), round(float(o), 4)] for e, o in zip(expected, observed, strict=True)]


def write_multiqc(
    table: pd.DataFrame, summary: dict, settings: dict, nominal_counts: np.ndarray | None, prefix: str
) -> list[str]:
    """MultiQC custom content: summary table, QQ plot, beta-approximation diagnostics."""
    import json

    from .io import atomic_open

    unit = "group" if "group_id" in table.columns else "phenotype"
    tested = table[table["pval_beta"].notna()]
    rows = {}
    for scope, s in summary.items():
        rows[scope] = {
            f"{unit}s tested": s["tested"],
            f"significant at FDR {settings['fdr']:g}": s["significant"],
            "pi1 (1 - pi0 of pval_beta)": round(1 - s["pi0"], 4),
            "min-p threshold p_t": s["p_threshold"],
        }
    files = {
        f"{prefix}.summary_mqc.json": {
            "id": "mage_cisqtl_summary",
            "section_name": "cis-QTL summary",
            "description": (
                f"cis-QTL {unit}s at FDR {settings['fdr']:g} ({settings['method']}, {settings['scope']} scope). "
                "pi1 = 1 - pi0 estimated on the beta-approximated permutation p-values (pval_beta). "
                "p_t: the pval_beta cut-off behind the per-phenotype nominal thresholds (GTEx rule)."
            ),
            "plot_type": "table",
            "pconfig": {"id": "mage_cisqtl_summary_table", "title": "cis-QTL: significant phenotypes"},
            "data": rows,
        }
    }
    qq = {
        "pval_beta (one per " + unit + ")": qq_points(np.sort(-np.log10(tested["pval_beta"].clip(lower=1e-300).to_numpy()))[::-1])
    }
    if nominal_counts is not None:
        qq["pval_nominal (all cis pairs)"] = qq_from_histogram(nominal_counts)
    files[f"{prefix}.qq_mqc.json"] = {
        "id": "mage_cisqtl_qq",
        "section_name": "cis-QTL QQ plot",
        "description": "Observed vs expected -log10 p (thinned): beta-approximated permutation p-values and all nominal pairs.",
        "plot_type": "linegraph",
        "pconfig": {
            "id": "mage_cisqtl_qq_plot",
            "title": "cis-QTL: QQ plot",
            "xlab": "expected -log10 p",
            "ylab": "observed -log10 p",
        },
        "data": qq,
    }
    thin = tested.iloc[np.unique(np.linspace(0, len(tested) - 1, min(len(tested), 2000)).astype(int))] if len(tested) else tested
    files[f"{prefix}.beta_fit_mqc.json"] = {
        "id": "mage_cisqtl_beta_fit",
        "section_name": "cis-QTL beta approximation",
        "description": "Empirical permutation p-value vs beta-approximated p-value (-log10), one point per tested unit "
        "(thinned). "
        "They should agree where pval_perm is resolved (above 1 / number of permutations).",
        "plot_type": "scatter",
        "pconfig": {
            "id": "mage_cisqtl_beta_fit_plot",
            "title": "cis-QTL: pval_perm vs pval_beta",
            "xlab": "-log10 pval_beta",
            "ylab": "-log10 pval_perm",
        },
        "data": {
            str(r.phenotype_id): {"x": round(-math.log10(max(r.pval_beta, 1e-300)), 4), "y": round(-math.log10(r.pval_perm), 4)}
            for r in thin.itertuples()
        },
    }
    files[f"{prefix}.true_df_mqc.json"] = {
        "id": "mage_cisqtl_true_df",
        "section_name": "cis-QTL learned degrees of freedom",
        "description": "Effective degrees of freedom learned from the permutations (true_df) against the number of cis variants; "
        "the nominal df is N - 2 - covariates.",
        "plot_type": "scatter",
        "pconfig": {"id": "mage_cisqtl_true_df_plot", "title": "cis-QTL: true_df", "xlab": "cis variants", "ylab": "true_df"},
        "data": {str(r.phenotype_id): {"x": int(r.num_var), "y": round(float(r.true_df), 3)} for r in thin.itertuples()},
    }
    for name, content in files.items():
        with atomic_open(name) as handle:
            json.dump(content, handle, indent=1)
    return list(files)
