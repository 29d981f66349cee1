"""aFC-n over a set of eQTLs (``bin/afc.py``, MAGE §2.22): input reading, per-gene genotypes, covariate correction and
fit, the result and status tables. The numerics are ``magelib.finemap.afc``.

Inputs and checks:
- eQTL table (TSV, header): ``gene_id`` (the BED phenotype_id) and ``variant_id``, optionally ``variant_chr`` and
  ``variant_pos`` (both or neither; 1-based). Without them a position is parsed from a ``chr_pos_ref_alt`` ID, else the
  ID is looked up in the VCF within ``window`` of the gene's BED start + 1. Several rows of a gene are fitted together
  (multi-variant aFC-n). A (gene, variant) pair may appear once.
- Samples are those of the BED, in its order; each must be in the VCF (and in the covariate file when correcting).
  Extra VCF or covariate samples are ignored.
- A lead variant must be in the VCF (matched by VCF ID or ``chr_pos_ref_alt``, at its position), biallelic, with GT.
  Heterozygous calls must be phased; a missing allele makes that sample's haplotypes NaN (the sample is then left out
  of that gene's fits); haploid calls count on both haplotypes (hap2dip).
- chrX: with ``chrx_par_only`` (default) a gene with any chrX lead variant outside the PARs is skipped (reason given;
  its genotypes are not read). Genes off chrX are unaffected.

Per gene, in eQTL-table order: expression = the BED row; ``correct_covariates`` (genotype indicators from ALT counts
h1 + h2, all covariates, drop those whose 95 % CI includes 0) unless disabled; then ``fit_afc``. A gene whose fit
cannot be done (e.g. too few complete samples) is reported ``failed`` with the reason and NA results. Bad input
(above) raises InputError before any fit, so no output is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import cli
from ..cli import InputError
from ..io.bed import bed_layout, read_bed_positions, read_bed_values
from ..io.tables import check_unique
from ..io.vcf import PhasedVariant, find_phased_variants, is_chrx, open_vcf
from ..qtl.problem import covariate_matrix
from .afc import EQTL_COLUMNS, GRCH38_PARS, AfcResult, afc_table, chrx_gene_eligible, correct_covariates, fit_afc

STATUS_COLUMNS = ["gene_id", "status", "reason", "n_samples"]
VARIANT_ID = re.compile(r"(.+)_(\d+)_([^_]+)_([^_]+)")


@dataclass(frozen=True)
class AfcSettings:
    """Options of one run (``bin/afc.py``)."""

    window: int = 1_000_000
    chrx_par_only: bool = True
    pars: tuple[tuple[int, int], ...] = GRCH38_PARS
    correct: bool = True
    interval: str = "profile"
    sigma: float = 2.0


@dataclass
class GeneInput:
    """One gene's lead variants (eQTL-table order) with resolved positions and, once read, haplotypes (n, k)."""

    gene_id: str
    rows: list[int]
    variant_ids: list[str]
    chroms: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    h1: np.ndarray | None = None
    h2: np.ndarray | None = None
    skip_reason: str | None = None


# --------------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------------


def parse_variant_id(variant_id: str) -> tuple[str, int] | None:
    """(chrom, pos) of a ``chr_pos_ref_alt`` ID, or None."""
    match = VARIANT_ID.fullmatch(variant_id)
    return (match.group(1), int(match.group(2))) if match else None


def read_eqtls(path: str) -> pd.DataFrame:
    """The eQTL table with ``variant_chr``/``variant_pos`` (None/NA where to be resolved); checked line by line."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except FileNotFoundError as err:
        raise InputError(f"{path}: eQTL table not found") from err
    except (OSError, ValueError, pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: cannot read eQTL table ({err})") from err
    if "gene_id" not in table.columns and "phenotype_id" in table.columns:  # the cis pass's tables (independent QTLs)
        table = table.rename(columns={"phenotype_id": "gene_id"})
    for column in ("gene_id", "variant_id"):
        if column not in table.columns:
            raise InputError(f"{path}: eQTL table lacks column '{column}' (header: {', '.join(map(str, table.columns))})")
    check_unique(table.columns, "column", path)
    has_chr, has_pos = "variant_chr" in table.columns, "variant_pos" in table.columns
    if has_chr != has_pos:
        raise InputError(f"{path}: eQTL table has only one of 'variant_chr' and 'variant_pos' (give both or neither)")
    for column in ["gene_id", "variant_id"] + (["variant_chr", "variant_pos"] if has_chr else []):
        values = table[column].str.strip()
        empty = np.flatnonzero(values.isin(["", "NA", "."]).to_numpy())
        if len(empty):
            raise InputError(f"{path}: line {empty[0] + 2}: empty or NA '{column}'")
        table[column] = values
    if has_pos:
        bad = np.flatnonzero(~table["variant_pos"].str.fullmatch(r"[1-9]\d*").to_numpy())
        if len(bad):
            line = bad[0] + 2
            raise InputError(f"{path}: line {line}: variant_pos '{table['variant_pos'].iat[bad[0]]}' is not a positive integer")
        table["variant_pos"] = table["variant_pos"].astype(np.int64)
    else:
        table["variant_chr"] = None
        table["variant_pos"] = pd.Series([pd.NA] * len(table), dtype="Int64")
    pairs = table["gene_id"] + "\t" + table["variant_id"]
    dup = np.flatnonzero(pairs.duplicated().to_numpy())
    if len(dup):
        row = dup[0]
        raise InputError(
            f"{path}: line {row + 2}: gene {table['gene_id'].iat[row]}, variant {table['variant_id'].iat[row]} appears twice"
        )
    return table.reset_index(drop=True)


@dataclass
class Expression:
    """BED positions (indexed by phenotype_id), values (phenotypes x samples) and samples, in BED order."""

    path: str
    positions: pd.DataFrame
    values: np.ndarray
    samples: list[str]

    def row(self, gene_id: str) -> np.ndarray:
        return self.values[self.positions.index.get_loc(gene_id)]


def read_expression(path: str) -> Expression:
    """A phenotype BED (4 or 6 fixed columns) in full: MAGE used the DESeq2 log2(x + 1) values."""
    fixed, samples = bed_layout(path)
    positions = read_bed_positions(path)
    values = read_bed_values(path, 0, len(positions), fixed, samples)
    return Expression(path, positions.set_index("phenotype_id"), values, samples)


def vcf_sample_index(vcf_samples: Sequence[str], samples: Sequence[str], path: str) -> np.ndarray:
    """Index of each (BED) sample among the VCF's; fail naming the samples the VCF lacks."""
    check_unique(vcf_samples, "sample", path)
    where = {s: i for i, s in enumerate(vcf_samples)}
    missing = [s for s in samples if s not in where]
    if missing:
        shown = ", ".join(f"'{s}'" for s in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise InputError(
            f"{path}: {len(missing)} sample(s) of the phenotype BED are not in the VCF: {shown} (map genotyped individuals only)"
        )
    return np.array([where[s] for s in samples], dtype=np.int64)


def group_genes(eqtls: pd.DataFrame, expression: Expression, eqtl_path: str) -> list[GeneInput]:
    """One GeneInput per gene, in order of first appearance; every gene must be a BED phenotype."""
    genes: dict[str, GeneInput] = {}
    for row, (gene, variant) in enumerate(zip(eqtls["gene_id"], eqtls["variant_id"], strict=True)):
        if gene not in genes:
            if gene not in expression.positions.index:
                raise InputError(f"{eqtl_path}: line {row + 2}: gene {gene} is not a phenotype of {expression.path}")
            genes[gene] = GeneInput(gene, [], [])
        genes[gene].rows.append(row)
        genes[gene].variant_ids.append(variant)
    return list(genes.values())


def _contig_message(vcf, chrom: str) -> str:
    names = set(vcf.seqnames)
    if chrom in names:
        return ""
    other = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
    if other in names:
        return f" (the VCF names this contig '{other}': contig naming mismatch)"
    return f" (contig '{chrom}' is not in the VCF)"


def resolve_positions(gene: GeneInput, eqtls: pd.DataFrame, expression: Expression, vcf, sample_index, settings):
    """Fill ``gene.chroms``/``positions``: from the table, the ID, or a VCF look-up around the gene (returns the
    records found by look-up, keyed by variant, to spare a second read)."""
    found: dict[str, PhasedVariant] = {}
    for row, variant in zip(gene.rows, gene.variant_ids, strict=True):
        chrom, pos = eqtls.at[row, "variant_chr"], eqtls.at[row, "variant_pos"]
        if chrom is None:
            parsed = parse_variant_id(variant)
            if parsed is not None:
                chrom, pos = parsed
            else:
                chrom = str(expression.positions.at[gene.gene_id, "chr"])
                tss = int(expression.positions.at[gene.gene_id, "start"]) + 1
                lo, hi = max(1, tss - settings.window), tss + settings.window
                hits = find_phased_variants(vcf, chrom, lo, hi, variant, sample_index)
                if not hits:
                    raise InputError(
                        f"gene {gene.gene_id}: lead variant {variant} not found in the VCF within {chrom}:{lo}-{hi} "
                        f"(±{settings.window} of the gene){_contig_message(vcf, chrom)}"
                    )
                if len(hits) > 1:
                    raise InputError(f"gene {gene.gene_id}: lead variant {variant} matches {len(hits)} VCF records")
                found[variant] = hits[0]
                chrom, pos = hits[0].chrom, hits[0].pos
        gene.chroms.append(str(chrom))
        gene.positions.append(int(pos))
    return found


def read_haplotypes(gene: GeneInput, vcf, sample_index: np.ndarray, samples: list[str], found: dict[str, PhasedVariant]):
    """Phased haplotypes of the gene's lead variants (checks: in the VCF, biallelic, heterozygous calls phased)."""
    h1, h2 = [], []
    for variant, chrom, pos in zip(gene.variant_ids, gene.chroms, gene.positions, strict=True):
        hits = [found[variant]] if variant in found else find_phased_variants(vcf, chrom, pos, pos, variant, sample_index)
        where = f"gene {gene.gene_id}: lead variant {variant} ({chrom}:{pos})"
        if not hits:
            raise InputError(f"{where} is not in the VCF{_contig_message(vcf, chrom)}")
        if len(hits) > 1:
            raise InputError(f"{where} matches {len(hits)} VCF records")
        hit = hits[0]
        if len(hit.alts) != 1:
            raise InputError(f"{where} is not biallelic in the VCF (ALT {','.join(hit.alts)}; split it with bcftools norm -m-)")
        if hit.unphased.any():
            bad = np.flatnonzero(hit.unphased)
            raise InputError(
                f"{where}: unphased heterozygous call for sample {samples[bad[0]]} ({len(bad)} unphased in all); "
                "aFC-n needs phased genotypes"
            )
        h1.append(hit.h1)
        h2.append(hit.h2)
    gene.h1, gene.h2 = np.column_stack(h1), np.column_stack(h2)


def chrx_skip_reason(gene: GeneInput, settings: AfcSettings) -> str | None:
    """Why a gene is skipped under the chrX policy (any chrX lead variant outside the PARs), or None."""
    on_x = [is_chrx(c) for c in gene.chroms]
    if not settings.chrx_par_only or not any(on_x):
        return None
    x_chroms = [c for c, x in zip(gene.chroms, on_x, strict=True) if x]
    x_pos = [p for p, x in zip(gene.positions, on_x, strict=True) if x]
    if chrx_gene_eligible(x_chroms, x_pos, settings.pars):
        return None
    outside = [
        v
        for v, c, p in zip(gene.variant_ids, gene.chroms, gene.positions, strict=True)
        if is_chrx(c) and not chrx_gene_eligible([c], [p], settings.pars)
    ]
    return f"chrX lead variant(s) outside the pseudo-autosomal regions: {', '.join(outside)}"


# --------------------------------------------------------------------------------------------------------------------
# Fits
# --------------------------------------------------------------------------------------------------------------------


def fit_gene(gene: GeneInput, expression: Expression, covariates: np.ndarray | None, names: list[str], settings):
    """(AfcResult or None, status row) for one gene whose haplotypes are read."""
    y = expression.row(gene.gene_id)
    try:
        if covariates is not None:
            alt_counts = gene.h1 + gene.h2
            y = correct_covariates(
                y, alt_counts, covariates, gene_id=gene.gene_id, variant_ids=gene.variant_ids, covariate_names=names
            ).corrected
        result = fit_afc(
            y,
            gene.h1,
            gene.h2,
            gene_id=gene.gene_id,
            variant_ids=gene.variant_ids,
            interval=settings.interval,
            sigma=settings.sigma,
        )
    except (InputError, ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        return None, (gene.gene_id, "failed", str(err), pd.NA)
    reason = pd.NA
    if any(np.isnan(result.log2_afc_error)):
        reason = "singular fit (a lead variant monomorphic or collinear among the samples): stderr and intervals NA"
    return result, (gene.gene_id, "ok", reason, result.n_samples)


def run_afc(
    vcf_path: str, bed_path: str, covariate_path: str | None, eqtl_path: str, settings: AfcSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The aFC table (``afc_table`` columns, one row per eQTL row) and the status table (one row per gene)."""
    eqtls = read_eqtls(eqtl_path)
    expression = read_expression(bed_path)
    samples = expression.samples
    vcf_sample_index(list(open_vcf(vcf_path).samples), samples, vcf_path)  # name absent samples first
    if not (Path(f"{vcf_path}.tbi").exists() or Path(f"{vcf_path}.csi").exists()):
        raise InputError(f"{vcf_path}: no .tbi or .csi index next to the VCF/BCF (run bcftools index)")
    vcf = open_vcf(vcf_path, samples)  # htslib parses only these columns, kept in VCF order
    sample_index = vcf_sample_index(list(vcf.samples), samples, vcf_path)
    covariates, names = (None, [])
    if settings.correct:
        covariates, names = covariate_matrix(covariate_path, samples)
    genes = group_genes(eqtls, expression, eqtl_path)

    for gene in genes:  # read and check everything before fitting anything
        found = resolve_positions(gene, eqtls, expression, vcf, sample_index, settings)
        gene.skip_reason = chrx_skip_reason(gene, settings)
        if gene.skip_reason is None:
            read_haplotypes(gene, vcf, sample_index, samples, found)
    cli.log(f"{len(genes)} genes, {len(eqtls)} lead variants, {len(samples)} samples, {len(names)} covariate columns")

    results: list[AfcResult] = []
    status = []
    for i, gene in enumerate(genes, start=1):
        if gene.skip_reason is not None:
            status.append((gene.gene_id, "skipped", gene.skip_reason, pd.NA))
        else:
            result, row = fit_gene(gene, expression, covariates, names, settings)
            if result is not None:
                results.append(result)
            status.append(row)
        if i % 1000 == 0:
            cli.log(f"{i}/{len(genes)} genes")

    resolved = eqtls.copy()
    for gene in genes:
        resolved.loc[gene.rows, "variant_chr"] = gene.chroms
        resolved.loc[gene.rows, "variant_pos"] = gene.positions
    resolved["variant_pos"] = resolved["variant_pos"].astype(np.int64)
    table = afc_table(resolved.loc[:, list(EQTL_COLUMNS)], results)
    status_table = pd.DataFrame(status, columns=STATUS_COLUMNS).astype({"n_samples": "Int64"})
    return table, status_table
