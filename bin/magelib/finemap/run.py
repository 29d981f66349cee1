"""Fine-mapping of significant phenotypes with SuSiE over the cis pass's own inputs (MAGE §2.20-2.21).

Every phenotype of a unit with qval <= fdr in the FDR table (an eGene, or every phenotype of a significant group in
grouped mode, i.e. every intron of an sGene) is fine-mapped on the same samples, covariates, cis window and MAF
filter as the cis pass (``magelib.qtl.problem.Problem``). y and the genotypes are residualised on [1, covariates]
by OLS, as MAGE did, then:
- ``individual`` (default): SuSiE on the residualised genotypes and phenotype (``susie``), the model MAGE's call
  meant with in-sample LD, without an N x N-variant LD matrix;
- ``rss``: MAGE's call, ``susie_rss(z, R, n)`` with z = the nominal pass's t statistics (slope / slope_se, df =
  N - 2 - k), R = the correlation of the residualised genotypes and n = N. susie_rss converts z to correlations
  with df = N - 2, so its PIPs differ from ``individual`` by up to ~0.1 (docs/finemapping.md).
Residualised genotypes with zero variance (collinear with the covariates) are left out of the fit: they carry no
signal, and susieR would spread prior mass onto them.

A phenotype that cannot be fine-mapped is never dropped silently: the status table gives every selected
phenotype, with ``converged``, ``not_converged`` (IBSS hit max_iter; its sets are still reported), ``no_variants``
or ``failed`` and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cli import InputError
from ..qtl.kernels import nominal_stats, phenotype_residuals
from ..qtl.problem import Problem, Unit
from ..qtl.windows import GenotypeWindow
from ..qtl.workers import map_units
from .susie import SusieFit, lead_index, susie, susie_rss

MODES = ("individual", "rss")
CREDIBLE_SET_COLUMNS = [
    "molecular_trait_id", "gene_id", "cs_id", "cs_index", "variant", "chromosome", "position", "pip", "z", "beta", "se",
    "pvalue", "cs_size", "cs_min_r2", "cs_coverage", "region",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "molecular_trait_id", "gene_id", "cs_id", "cs_index", "cs_size", "coverage", "min_abs_corr", "mean_abs_corr",
    "median_abs_corr", "cs_log10bf", "lead_variant", "lead_pip", "lead_z", "region",
]  # fmt: skip
PIP_COLUMNS = ["molecular_trait_id", "gene_id", "variant", "chromosome", "position", "pip", "z", "cs_id", "region"]
STATUS_COLUMNS = ["molecular_trait_id", "gene_id", "status", "reason", "n_variants", "n_iter", "n_credible_sets"]


@dataclass(frozen=True)
class FinemapSettings:
    L: int = 10
    coverage: float = 0.95
    min_abs_corr: float = 0.5
    mode: str = "individual"
    max_iter: int = 100
    tol: float = 1e-3

    def check(self) -> None:
        if self.L < 1:
            raise InputError(f"--L must be at least 1, got {self.L}")
        if not 0 < self.coverage < 1:
            raise InputError(f"--coverage must be in (0, 1), got {self.coverage}")
        if not 0 <= self.min_abs_corr <= 1:
            raise InputError(f"--min-abs-corr must be in [0, 1], got {self.min_abs_corr}")
        if self.mode not in MODES:
            raise InputError(f"--mode must be one of {', '.join(MODES)}, got '{self.mode}'")
        if self.max_iter < 1 or not self.tol > 0:
            raise InputError("--max-iter must be at least 1 and --tol positive")


@dataclass
class PhenotypeResult:
    """The tables of one fine-mapped phenotype (frames share the columns above)."""

    credible_sets: pd.DataFrame
    summary: pd.DataFrame
    pips: pd.DataFrame
    lbf: pd.DataFrame
    status: dict


def significant_units(table: pd.DataFrame, fdr: float, grouped: bool) -> set[str]:
    """Names (phenotype or group IDs) of the units with qval <= fdr in the FDR table."""
    if "qval" not in table.columns:
        raise InputError("the FDR table has no 'qval' column (give qtl_fdr.py's cis_qtl.fdr.txt.gz)")
    key = "group_id" if grouped else "phenotype_id"
    if key not in table.columns:
        raise InputError(f"the FDR table has no '{key}' column ({'grouped' if grouped else 'ungrouped'} phenotypes)")
    return set(table.loc[table["qval"] <= fdr, key].astype(str))


def map_finemap(problem: Problem, table: pd.DataFrame, fdr: float, settings: FinemapSettings, workers: int = 1) -> Iterator:
    """PhenotypeResult of every phenotype of every significant unit of the chunk, in BED order."""
    settings.check()
    selected = significant_units(table, fdr, problem.groups is not None)

    def task(problem: Problem, unit: Unit) -> list[PhenotypeResult]:
        name = unit.group if unit.group is not None else str(unit.ids[0])
        if name not in selected:
            return []
        return [finemap_phenotype(problem, unit, j, settings) for j in range(len(unit.ids))]

    for results in map_units(problem, task, workers):
        yield from results


def finemap_phenotype(problem: Problem, unit: Unit, j: int, settings: FinemapSettings) -> PhenotypeResult:
    trait, gene = str(unit.ids[j]), unit.group if unit.group is not None else str(unit.ids[j])
    anchor = int(unit.tss[j])
    window = problem.cis_window(unit, anchor)
    region = f"{unit.chrom}:{max(anchor - problem.settings.window, 1)}-{anchor + problem.settings.window}"
    status = {"molecular_trait_id": trait, "gene_id": gene, "n_variants": 0, "n_iter": 0, "n_credible_sets": 0}
    usable = np.nonzero(window.norm > 0)[0] if len(window) else np.zeros(0, dtype=int)
    if len(usable) == 0:
        return _empty(status | {"status": "no_variants", "reason": "no cis variant passes the MAF filter"})
    y_unit, y_norm = phenotype_residuals(unit.values[j], problem.residualiser)
    g = window.g[usable]
    r = np.clip(g @ y_unit[0], -1.0, 1.0)
    stats = nominal_stats(r, problem.df, y_norm[0], window.norm[usable])
    z = r * np.sqrt(problem.df / np.maximum(1.0 - r * r, 1e-300))  # the nominal pass's t = slope / slope_se
    try:
        fit = _fit(g, y_unit[0] * y_norm[0], z, len(problem.samples), settings)
    except InputError as err:
        return _empty(status | {"status": "failed", "reason": str(err), "n_variants": len(usable)})
    variants = _variant_frame(window, usable, unit.chrom, trait, gene, region)
    status |= {
        "status": "converged" if fit.converged else "not_converged",
        "reason": "" if fit.converged else f"IBSS did not converge in {settings.max_iter} iterations (tol {settings.tol:g})",
        "n_variants": len(usable),
        "n_iter": fit.niter,
        "n_credible_sets": len(fit.sets),
    }
    return _tables(fit, variants, z, stats, status)


def _fit(g: np.ndarray, y: np.ndarray, z: np.ndarray, n: int, settings: FinemapSettings) -> SusieFit:
    """g: variants x samples, residualised, unit norm; y: the residualised phenotype."""
    common = dict(
        L=settings.L, coverage=settings.coverage, min_abs_corr=settings.min_abs_corr, max_iter=settings.max_iter,
        tol=settings.tol, estimate_residual_variance=True,
    )  # fmt: skip
    if settings.mode == "rss":
        # residualised genotypes are centred and unit norm, so their correlation matrix is g g'
        return susie_rss(z, np.clip(g @ g.T, -1.0, 1.0), n, **common)
    return susie(g.T, y, **common)


def _variant_frame(window: GenotypeWindow, usable: np.ndarray, chrom: str, trait: str, gene: str, region: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "molecular_trait_id": trait,
            "gene_id": gene,
            "variant": window.ids[usable],
            "chromosome": chrom,
            "position": window.pos[usable].astype(np.int64),
            "region": region,
        }
    )


def _tables(fit: SusieFit, variants: pd.DataFrame, z: np.ndarray, stats: dict, status: dict) -> PhenotypeResult:
    trait = status["molecular_trait_id"]
    cs_of = np.full(len(variants), "", dtype=object)
    cs_rows, summary_rows = [], []
    for cs in fit.sets:
        index = f"L{cs.effect + 1}"
        cs_id = f"{trait}_{index}"
        members = cs.variables
        cs_of[members[cs_of[members] == ""]] = cs_id  # a variable in two sets keeps the first (purest) one
        lead = lead_index(fit.pip, members)
        min_r, mean_r, median_r = cs.purity
        frame = variants.iloc[members].assign(
            cs_id=cs_id, cs_index=index, pip=fit.pip[members], z=z[members], beta=stats["slope"][members],
            se=stats["slope_se"][members], pvalue=stats["pval_nominal"][members], cs_size=len(members),
            cs_min_r2=min_r * min_r, cs_coverage=cs.coverage,
        )  # fmt: skip
        cs_rows.append(frame[CREDIBLE_SET_COLUMNS])
        summary_rows.append(
            {
                "molecular_trait_id": trait, "gene_id": status["gene_id"], "cs_id": cs_id, "cs_index": index,
                "cs_size": len(members), "coverage": cs.coverage, "min_abs_corr": min_r, "mean_abs_corr": mean_r,
                "median_abs_corr": median_r, "cs_log10bf": fit.lbf[cs.effect] / np.log(10),
                "lead_variant": variants["variant"].iat[lead], "lead_pip": fit.pip[lead], "lead_z": z[lead],
                "region": variants["region"].iat[0],
            }
        )  # fmt: skip
    pips = variants.assign(pip=fit.pip, z=z, cs_id=np.where(cs_of == "", None, cs_of))[PIP_COLUMNS]
    lbf = variants[["molecular_trait_id", "region", "variant", "chromosome", "position"]].copy()
    for effect in range(fit.lbf_variable.shape[0]):
        lbf[f"lbf_variable{effect + 1}"] = fit.lbf_variable[effect]
    return PhenotypeResult(
        pd.concat(cs_rows, ignore_index=True) if cs_rows else pd.DataFrame(columns=CREDIBLE_SET_COLUMNS),
        pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS),
        pips,
        lbf,
        status,
    )


def _empty(status: dict) -> PhenotypeResult:
    return PhenotypeResult(
        pd.DataFrame(columns=CREDIBLE_SET_COLUMNS),
        pd.DataFrame(columns=SUMMARY_COLUMNS),
        pd.DataFrame(columns=PIP_COLUMNS),
        pd.DataFrame(),
        status,
    )


def collect(results: Iterator[PhenotypeResult], L: int) -> dict[str, pd.DataFrame]:
    """The chunk's four tables and the status table, each one frame in BED order."""
    parts: dict[str, list[pd.DataFrame]] = {"credible_sets": [], "cs_summary": [], "pip": [], "lbf_variable": []}
    status = []
    for result in results:
        for name, frame in zip(parts, (result.credible_sets, result.summary, result.pips, result.lbf), strict=True):
            if len(frame):
                parts[name].append(frame)
        status.append(result.status)
    columns = {
        "credible_sets": CREDIBLE_SET_COLUMNS,
        "cs_summary": SUMMARY_COLUMNS,
        "pip": PIP_COLUMNS,
        "lbf_variable": ["molecular_trait_id", "region", "variant", "chromosome", "position"]
        + [f"lbf_variable{i + 1}" for i in range(L)],
    }
    tables = {
        name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns[name])
        for name, frames in parts.items()
    }
    tables["status"] = pd.DataFrame(status, columns=STATUS_COLUMNS)
    return tables
