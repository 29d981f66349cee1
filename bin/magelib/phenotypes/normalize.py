"""Expression phenotypes: gene filter, edgeR TMM, inverse-normal transform and DESeq2 median-of-ratios.

Each numerical function reproduces its reference exactly (tests/test_tmm_edger.py, tests/test_deseq2.py):

- ``tmm_factors``: edgeR ``calcNormFactors(method = "TMM")`` of Debian's r-bioc-edger 3.40.2. edgeR 4.x
  (``normLibSizes``) keeps the same reference-column rule and trimming; it only adds a negative-count check,
  which we apply too.
- ``deseq2_normalization_factors``: DESeq2 ``estimateSizeFactors`` on a ``DESeqDataSetFromTximport`` object
  (Debian r-bioc-deseq2 1.38.3): normMatrix from the tximport average transcript lengths.
- ``inverse_normal_transform``: pyqtl ``inverse_normal_transform`` (average-tie ranks, Phi^-1(r / (N + 1))).

Matrices are genes x samples numpy arrays (float64) unless a function says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..cli import InputError

CHROMOSOME_SETS = ("autosomes_x", "autosomes", "all")
AUTOSOMES = {str(i) for i in range(1, 23)}


# Bound the genes x samples temporaries of the vectorised TMM to about this many cells per block.
TMM_BLOCK_CELLS = 4_000_000


def expressed_genes(counts: np.ndarray, tpm: np.ndarray, min_counts: float, min_tpm: float, min_sample_frac: float) -> dict:
    """MAGE's filter: counts >= min_counts in >= frac*N samples AND TPM >= min_tpm in >= frac*N samples.

    The two conditions are counted separately (as ``rowCounts(x >= t) >= 0.2 * ncol(x)`` in MAGE's R script), and the
    threshold frac*N is compared as a real number, without rounding. Returns per-gene sample counts and masks.
    """
    threshold = min_sample_frac * counts.shape[1]
    n_counts = (counts >= min_counts).sum(axis=1)
    n_tpm = (tpm >= min_tpm).sum(axis=1)
    pass_counts = n_counts >= threshold
    pass_tpm = n_tpm >= threshold
    return {
        "n_counts": n_counts,
        "n_tpm": n_tpm,
        "pass_counts": pass_counts,
        "pass_tpm": pass_tpm,
        "keep": pass_counts & pass_tpm,
    }


def chromosome_allowed(chroms: pd.Series | list, which: str) -> np.ndarray:
    """Mask of chromosomes in the chosen set; 'chr1' and '1' styles both work (GENCODE and Ensembl GTFs).

    autosomes_x = 1-22 and X (MAGE: drops Y, M, scaffolds and GENCODE's chrY ``_PAR_Y`` copies); autosomes = 1-22; all.
    """
    if which not in CHROMOSOME_SETS:
        raise InputError(f"unknown chromosome set '{which}' (choose from {', '.join(CHROMOSOME_SETS)})")
    names = pd.Series(chroms, dtype=str)
    base = names.str.replace(r"^chr", "", regex=True, case=False)
    if which == "all":
        return np.ones(len(names), dtype=bool)
    allowed = AUTOSOMES | ({"X"} if which == "autosomes_x" else set())
    return base.isin(allowed).to_numpy()


def _upper_quartile(x: np.ndarray) -> np.ndarray:
    """Column 75th percentiles with R's quantile type 7 arithmetic: (1 - h) * x[lo] + h * x[hi]."""
    n = x.shape[0]
    index = (n - 1) * 0.75  # 0-based position
    lo, hi = int(np.floor(index)), int(np.ceil(index))
    part = np.partition(x, [lo, hi], axis=0)
    low, high = part[lo], part[hi]
    h = index - lo
    return np.where(high != low, (1 - h) * low + h * high, low)


def _tmm_block(
    obs: np.ndarray,
    ref: np.ndarray,
    n_obs: np.ndarray,
    n_ref: float,
    logratio_trim: float,
    sum_trim: float,
    do_weighting: bool,
    a_cutoff: float,
) -> np.ndarray:
    """edgeR ``.calcFactorTMM`` for a block of observed columns against one reference column (log2 scale result)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ref_p = ref / n_ref
        obs_p = obs / n_obs
        # Same operation order as edgeR, so that exactly tied M and A values tie here too.
        log_r = np.log2(obs_p / ref_p[:, None])
        abs_e = (np.log2(obs_p) + np.log2(ref_p)[:, None]) / 2
        var = (n_obs - obs) / n_obs / obs + ((n_ref - ref) / n_ref / ref)[:, None]
    finite = np.isfinite(log_r) & np.isfinite(abs_e) & (abs_e > a_cutoff)
    n = finite.sum(axis=0)
    log_r = np.where(finite, log_r, np.nan)
    abs_e = np.where(finite, abs_e, np.nan)
    rank_r = stats.rankdata(log_r, axis=0, nan_policy="omit")
    rank_e = stats.rankdata(abs_e, axis=0, nan_policy="omit")
    lo_l = np.floor(n * logratio_trim) + 1
    hi_l = n + 1 - lo_l
    lo_s = np.floor(n * sum_trim) + 1
    hi_s = n + 1 - lo_s
    with np.errstate(invalid="ignore"):
        keep = finite & (rank_r >= lo_l) & (rank_r <= hi_l) & (rank_e >= lo_s) & (rank_e <= hi_s)
        if do_weighting:
            num = np.where(keep, log_r / var, 0.0)
            den = np.where(keep, 1 / var, 0.0)
            # R: sum(logR[keep]/v[keep], na.rm = TRUE) / sum(1/v[keep], na.rm = TRUE)
            f = np.nansum(num, axis=0) / np.nansum(den, axis=0)
        else:
            f = np.nanmean(np.where(keep, log_r, np.nan), axis=0)
    f = np.where(np.isnan(f), 0.0, f)  # no shared positive genes: edgeR returns factor 1
    max_abs = np.nanmax(np.abs(np.where(finite, log_r, 0.0)), axis=0, initial=0.0)
    return np.where((n == 0) | (max_abs < 1e-6), 0.0, f)


def tmm_factors(
    counts: np.ndarray, logratio_trim: float = 0.3, sum_trim: float = 0.05, do_weighting: bool = True, a_cutoff: float = -1e10
) -> np.ndarray:
    """TMM normalisation factors, exactly as edgeR ``calcNormFactors(counts, method = "TMM")``.

    Library sizes are the column sums; all-zero genes are dropped; the reference column is the one whose upper quartile
    (of count / library size) is closest to the mean upper quartile, or, when the median upper quartile is below 1e-20
    (very sparse data), the one with the largest sum of square-root counts; factors are rescaled to geometric mean 1.
    """
    counts = np.asarray(counts, dtype=float)
    n_samples = counts.shape[1]
    lib_size = counts.sum(axis=0)
    x = counts[(counts > 0).any(axis=1)]
    if x.shape[0] == 0 or n_samples == 1:
        return np.ones(n_samples)
    f75 = _upper_quartile(x) / lib_size
    ref = int(np.argmax(np.sqrt(x).sum(axis=0))) if np.median(f75) < 1e-20 else int(np.argmin(np.abs(f75 - f75.mean())))
    log_f = np.empty(n_samples)
    block = max(1, TMM_BLOCK_CELLS // x.shape[0])
    for start in range(0, n_samples, block):
        cols = slice(start, start + block)
        log_f[cols] = _tmm_block(
            x[:, cols], x[:, ref], lib_size[cols], lib_size[ref], logratio_trim, sum_trim, do_weighting, a_cutoff
        )
    f = 2.0**log_f
    return f / np.exp(np.mean(np.log(f)))


def tmm_cpm(counts: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """edgeR ``cpm(y)`` of a DGEList: count / (library size x norm factor) x 1e6, library size over all genes."""
    effective = counts.sum(axis=0) * factors
    return counts / effective * 1e6


def deseq2_size_factors(counts: np.ndarray) -> np.ndarray:
    """DESeq2 ``estimateSizeFactorsForMatrix`` (median-of-ratios): genes with any zero are left out of the medians."""
    with np.errstate(divide="ignore"):
        log_counts = np.log(counts)
    log_geo_means = log_counts.mean(axis=1)
    usable = np.isfinite(log_geo_means)
    if not usable.any():
        raise InputError(
            "DESeq2 size factors: every gene has a zero count in at least one sample, cannot compute geometric means"
        )
    return np.exp(np.median(log_counts[usable] - log_geo_means[usable, None], axis=0))


def deseq2_normalization_factors(counts: np.ndarray, avg_tx_length: np.ndarray | None = None) -> np.ndarray:
    """Gene x sample DESeq2 normalisation factors (``normalizationFactors(dds)`` or size factors broadcast to genes).

    With tximport lengths (``DESeqDataSetFromTximport``): normMatrix = length / its per-gene geometric mean; size factors
    by median-of-ratios on counts / normMatrix; nf = normMatrix x sf, rescaled to per-gene geometric mean 1.
    Without lengths: plain size factors. ``counts`` must already be rounded (see ``deseq2_normalized_log``).
    """
    if avg_tx_length is None:
        return np.broadcast_to(deseq2_size_factors(counts), counts.shape)
    norm_matrix = avg_tx_length / np.exp(np.log(avg_tx_length).mean(axis=1))[:, None]
    size_factors = deseq2_size_factors(counts / norm_matrix)
    factors = norm_matrix * size_factors
    return factors / np.exp(np.log(factors).mean(axis=1))[:, None]


def deseq2_normalized_log(counts: np.ndarray, avg_tx_length: np.ndarray | None = None) -> np.ndarray:
    """log2(DESeq2-normalised counts + 1) as MAGE's aFC phenotype: counts rounded (half to even, as R) first."""
    rounded = np.rint(counts)
    return np.log2(rounded / deseq2_normalization_factors(rounded, avg_tx_length) + 1)


def inverse_normal_transform(values: np.ndarray) -> np.ndarray:
    """Per row (gene) across columns (samples): Phi^-1(rank / (N + 1)) with average ranks for ties."""
    values = np.asarray(values, dtype=float)
    ranks = stats.rankdata(values, axis=1)
    return stats.norm.ppf(ranks / (values.shape[1] + 1))


@dataclass
class Phenotypes:
    """The four phenotype tables (kept genes x samples), the per-gene filter report and the TMM factors."""

    counts: pd.DataFrame
    tmm: pd.DataFrame
    inverse_normal_tmm: pd.DataFrame
    deseq2_log2: pd.DataFrame
    gene_report: pd.DataFrame
    tmm_report: pd.DataFrame


def check_expression_inputs(
    counts: pd.DataFrame, others: dict[str, pd.DataFrame], gene_chroms: pd.Series, counts_name: str, gtf_name: str
) -> dict[str, pd.DataFrame]:
    """Check values and IDs; return the other matrices reindexed to the counts' genes and samples (joined by ID)."""
    absent = counts.index.difference(gene_chroms.index, sort=False)
    if len(absent):
        raise InputError(f"{counts_name}: gene '{absent[0]}' is absent from the GTF {gtf_name} ({len(absent)} absent in all)")
    for name, frame in {counts_name: counts, **others}.items():
        negative = frame.to_numpy() < 0
        if negative.any():
            i, j = np.argwhere(negative)[0]
            raise InputError(f"{name}: negative value {frame.iat[i, j]} at gene '{frame.index[i]}', sample '{frame.columns[j]}'")
    aligned = {}
    for name, frame in others.items():
        for what, expected, found in (("gene", counts.index, frame.index), ("sample", counts.columns, frame.columns)):
            missing = expected.difference(found, sort=False)
            extra = found.difference(expected, sort=False)
            if len(missing):
                raise InputError(f"{name}: {what} '{missing[0]}' of {counts_name} is missing ({len(missing)} missing in all)")
            if len(extra):
                raise InputError(f"{name}: {what} '{extra[0]}' is not in {counts_name} ({len(extra)} extra in all)")
        aligned[name] = frame.loc[counts.index, counts.columns]
    empty = counts.columns[counts.sum(axis=0).to_numpy() == 0]
    if len(empty):
        raise InputError(f"{counts_name}: sample '{empty[0]}' has no counts at all (an empty library cannot be normalised)")
    return aligned


def expression_phenotypes(
    counts: pd.DataFrame,
    tpm: pd.DataFrame,
    lengths: pd.DataFrame | None,
    gene_chroms: pd.Series,
    min_counts: float = 6,
    min_tpm: float = 0.1,
    min_sample_frac: float = 0.2,
    chromosomes: str = "autosomes_x",
) -> Phenotypes:
    """MAGE's expression phenotypes (mage_methods §2.3 #4-8) from aligned genes x samples frames.

    TMM factors, library sizes and DESeq2 factors are computed on all genes (MAGE §5 #8); the expression filter and the
    chromosome set are applied afterwards; the inverse-normal transform runs on the kept genes only.
    Samples are put in sorted order first, so the result does not depend on the input column order.
    """
    samples = sorted(counts.columns)
    counts, tpm = counts[samples], tpm[samples]
    values = counts.to_numpy(dtype=float)
    report = expressed_genes(values, tpm.to_numpy(dtype=float), min_counts, min_tpm, min_sample_frac)
    on_chrom = chromosome_allowed(gene_chroms.loc[counts.index], chromosomes)
    keep = report["keep"] & on_chrom

    lengths_values = None if lengths is None else lengths[samples].to_numpy(dtype=float)
    if lengths_values is not None and not (lengths_values > 0).all():
        i, j = np.argwhere(~(lengths_values > 0))[0]
        raise InputError(
            f"gene lengths: length {lengths_values[i, j]} at gene '{counts.index[i]}', sample '{samples[j]}' must be > 0"
        )
    factors = tmm_factors(values)
    tmm = tmm_cpm(values, factors)
    deseq = deseq2_normalized_log(values, lengths_values)

    genes = counts.index[keep]

    def frame(matrix: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(matrix[keep], index=genes, columns=samples)

    tmm_kept = frame(tmm)
    gene_report = pd.DataFrame(
        {
            "chromosome": gene_chroms.loc[counts.index].to_numpy(),
            "samples_min_counts": report["n_counts"],
            "samples_min_tpm": report["n_tpm"],
            "pass_counts": report["pass_counts"],
            "pass_tpm": report["pass_tpm"],
            "chromosome_allowed": on_chrom,
            "kept": keep,
        },
        index=counts.index,
    )
    lib_size = values.sum(axis=0)
    tmm_report = pd.DataFrame(
        {"lib_size": lib_size, "norm_factor": factors, "effective_lib_size": lib_size * factors}, index=samples
    )
    return Phenotypes(
        counts=frame(values),
        tmm=tmm_kept,
        inverse_normal_tmm=pd.DataFrame(inverse_normal_transform(tmm_kept.to_numpy()), index=genes, columns=samples),
        deseq2_log2=frame(deseq),
        gene_report=gene_report,
        tmm_report=tmm_report,
    )
