"""VCF/BCF streaming for QTL mapping: genotype coding, allele-frequency summaries, region reads, contig checks.

Only biallelic SNPs and indels are kept (symbolic, breakend, ``*`` and missing ALT alleles are dropped).

Genotype coding (FastQTL): DS when the record has it, else GT as the number of ALT alleles; a haploid call counts
twice (MAGE's hap2dip: ``0`` -> 0, ``1`` -> 2); any missing allele makes the call missing. No genotype is changed
because of a sex label: on chrX outside the pseudo-autosomal regions, individuals labelled male with heterozygous
calls and individuals labelled female with haploid calls are only reported (manifest ``sex_warnings`` and stderr),
as likely label errors for the sex check. Missing genotypes are mean-imputed when loaded, over the samples being
mapped (FastQTL).

Plain VCF/BCF files (bgzipped and indexed) are read by region, so ``cis_qtl.py`` also runs on them directly; there
the variant ID is the VCF ID (``chr_pos_ref_alt`` when it is ``.``).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..cli import InputError

# Pseudo-autosomal regions (1-based inclusive), GRCh38 and GRCh37
PAR_GRCH38 = "chrX:10001-2781479,chrX:155701383-156030895"
PAR_GRCH37 = "X:60001-2699520,X:154931044-155260560"
BLOCK = 4096  # variants parsed per block
VARIANT_COLUMNS = ["chrom", "pos", "variant_id", "ref", "alt", "af"]  # the store's variant table


def dosage_from_gt(genotype: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ALT dosage from a cyvcf2 ``genotype.array()`` (alleles then phased flag; -1 missing, -2 vector end).

    Returns (float64 dosage with NaN for missing, haploid mask); haploid calls count twice.
    """
    alleles = genotype[:, :-1]
    if alleles.shape[1] == 1:
        haploid = np.ones(len(alleles), dtype=bool)
    else:
        haploid = alleles[:, 1] == -2
    missing = (alleles == -1).any(axis=1)
    alt = (alleles > 0).sum(axis=1).astype(float)
    dosage = np.where(haploid, 2 * alt, alt)
    dosage[missing] = np.nan
    return dosage, haploid


def allele_counts(dosage: np.ndarray) -> dict[str, np.ndarray]:
    """Per variant (rows): af, maf, ma_samples, ma_count from rounded dosages over non-missing samples (FastQTL)."""
    observed = ~np.isnan(dosage)
    rounded = np.floor(np.where(observed, dosage, 0) + 0.5)  # C round(): halves away from zero, as FastQTL
    c0 = ((rounded == 0) & observed).sum(axis=1)
    c1 = ((rounded == 1) & observed).sum(axis=1)
    c2 = ((rounded == 2) & observed).sum(axis=1)
    called = c0 + c1 + c2
    ref_alleles, alt_alleles = 2 * c0 + c1, c1 + 2 * c2
    alt_minor = alt_alleles <= ref_alleles
    with np.errstate(invalid="ignore", divide="ignore"):
        maf = np.where(alt_minor, alt_alleles, ref_alleles) / (2.0 * called)
        af = np.nansum(dosage, axis=1) / (2.0 * observed.sum(axis=1))
    return {
        "af": af,
        "maf": np.nan_to_num(maf),
        "ma_samples": np.where(alt_minor, c1 + c2, c0 + c1),
        "ma_count": np.where(alt_minor, alt_alleles, ref_alleles),
    }


def impute_mean(dosage: np.ndarray) -> np.ndarray:
    """Replace NaN by the row mean of the observed values (in place; returns the array)."""
    missing = np.isnan(dosage)
    if missing.any():
        rows = np.nonzero(missing.any(axis=1))[0]
        means = np.nanmean(dosage[rows], axis=1)
        dosage[rows] = np.where(missing[rows], np.nan_to_num(means)[:, None], dosage[rows])
    return dosage


def parse_regions(text: str) -> list[tuple[str, int, int]]:
    """``chrX:10001-2781479,chrX:155701383-156030895`` -> [(chrom, start, end)], 1-based inclusive."""
    regions = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = re.fullmatch(r"([^:]+):(\d+)-(\d+)", item)
        if not match:
            raise InputError(f"region '{item}' is not chrom:start-end")
        regions.append((match.group(1), int(match.group(2)), int(match.group(3))))
    return regions


def is_chrx(chrom: str) -> bool:
    return chrom in ("chrX", "X")


def usable_alt(ref: str, alts: list[str]) -> bool:
    """Biallelic, with a concrete ALT allele (no symbolic, breakend, '*' or missing ALT)."""
    if len(alts) != 1:
        return False
    alt = alts[0]
    return bool(alt) and alt not in (".", "*") and not any(c in alt for c in "<>[]") and ref != alt


@dataclass
class VariantBlock:
    """Up to BLOCK parsed variants: their table, a float64 dosage matrix (variants x samples, NaN missing) and
    which calls were haploid."""

    table: pd.DataFrame
    dosage: np.ndarray
    haploid: np.ndarray


def open_vcf(path: str | os.PathLike, samples: list[str] | None = None):
    """A cyvcf2 reader; with ``samples`` htslib parses only those columns (kept in VCF order), which is much faster."""
    from cyvcf2 import VCF  # imported here so that store-only readers do not need cyvcf2

    if not Path(path).exists():
        raise InputError(f"{path}: genotype file not found")
    try:
        return VCF(str(path), lazy=True, samples=samples)
    except Exception as err:  # cyvcf2 raises plain Exception for unreadable files
        raise InputError(f"{path}: cannot open as VCF/BCF ({err})") from err


def query(vcf, region: str):
    """Records of a region; an empty region is not worth cyvcf2's 'no intervals found' warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no intervals found")
        yield from vcf(region)


def has_ds(vcf) -> bool:
    return any(h.info().get("HeaderType") == "FORMAT" and h.info().get("ID") == "DS" for h in vcf.header_iter())


def vcf_blocks(vcf, records, sample_index: np.ndarray, use_ds: bool, source: str, id_from_vcf: bool):
    """Parse records into VariantBlocks of usable biallelic variants for the chosen samples."""
    rows: list[tuple] = []
    dosages: list[np.ndarray] = []
    haploids: list[np.ndarray] = []
    last = (None, -1)
    for record in records:
        chrom, pos = record.CHROM, record.POS
        if chrom == last[0] and pos < last[1]:
            raise InputError(f"{source}: records not sorted by position at {chrom}:{pos}")
        last = (chrom, pos)
        ref, alts = record.REF, record.ALT
        if not usable_alt(ref, alts):
            continue
        dosage, haploid = None, None
        if use_ds:
            ds = record.format("DS")
            if ds is not None:
                dosage = ds[sample_index, 0].astype(float)
                dosage[(dosage < -0.5) | (dosage > 2.5)] = np.nan  # htslib missing sentinels
                haploid = np.zeros(len(dosage), dtype=bool)
        if dosage is None:
            dosage, haploid = dosage_from_gt(record.genotype.array()[sample_index])
        vid = record.ID if (id_from_vcf and record.ID) else f"{chrom}_{pos}_{ref}_{alts[0]}"
        rows.append((chrom, pos, vid, ref, alts[0]))
        dosages.append(dosage)
        haploids.append(haploid)
        if len(rows) == BLOCK:
            yield _block(rows, dosages, haploids)
            rows, dosages, haploids = [], [], []
    if rows:
        yield _block(rows, dosages, haploids)


def _block(rows: list[tuple], dosages: list[np.ndarray], haploids: list[np.ndarray]) -> VariantBlock:
    table = pd.DataFrame(rows, columns=["chrom", "pos", "variant_id", "ref", "alt"])
    table["pos"] = table["pos"].astype(np.int64)
    return VariantBlock(table, np.vstack(dosages), np.vstack(haploids))


class VcfGenotypes:
    """Region access to a bgzipped, indexed VCF or BCF, with the store's interface."""

    def __init__(self, path: str | os.PathLike, samples: list[str] | None = None):
        self.path = str(path)
        self.vcf = open_vcf(path)
        if not (Path(f"{path}.tbi").exists() or Path(f"{path}.csi").exists()):
            raise InputError(f"{path}: no .tbi or .csi index next to the VCF/BCF (run bcftools index)")
        if samples is not None and set(samples) <= set(self.vcf.samples):
            self.vcf = open_vcf(path, samples)  # parse only the mapped samples
        self.samples = list(self.vcf.samples)
        self.chromosomes = list(self.vcf.seqnames)
        self.use_ds = has_ds(self.vcf)

    def reopen(self) -> None:
        """A fresh htslib handle, for a forked worker (a handle shared across a fork shares its file offset)."""
        self.vcf = open_vcf(self.path, self.samples)

    def load(self, chrom: str, start: int, end: int, sample_index: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        if chrom not in self.chromosomes:
            return empty_region(len(sample_index))
        records = (r for r in query(self.vcf, f"{chrom}:{start}-{end}") if start <= r.POS <= end)
        blocks = list(vcf_blocks(self.vcf, records, sample_index, self.use_ds, self.path, id_from_vcf=True))
        if not blocks:
            return empty_region(len(sample_index))
        return pd.concat([b.table for b in blocks], ignore_index=True), np.vstack([b.dosage for b in blocks])


def empty_region(n_samples: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The (variant table, dosage) of a region without variants."""
    table = pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in zip(VARIANT_COLUMNS[:5], [str, np.int64, str, str, str], strict=True)}
    )
    return table, np.empty((0, n_samples))


def check_contigs(genotype_chroms: list[str], phenotype_chroms: list[str], genotypes: str, phenotypes: str) -> list[str]:
    """Phenotype chromosomes absent from the genotypes; fail when the naming conventions differ (chr22 vs 22)."""
    available = set(genotype_chroms)
    absent = [c for c in dict.fromkeys(phenotype_chroms) if c not in available]
    for chrom in absent:
        other = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
        if other in available:
            raise InputError(
                f"contig naming mismatch: phenotype BED {phenotypes} uses '{chrom}' but genotypes {genotypes} use '{other}'; "
                "rename the contigs of one file so both follow the same convention"
            )
    if len(absent) == len(set(phenotype_chroms)):
        raise InputError(
            f"no chromosome of the phenotype BED {phenotypes} ({', '.join(absent[:5])}) is in the genotypes {genotypes}"
        )
    return absent


# --------------------------------------------------------------------------------------------------------------------
# Phased haplotypes (aFC-n)
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class PhasedVariant:
    """One biallelic record's phased ALT haplotypes for the chosen samples.

    ``h1`` / ``h2``: float64, 0 = REF, 1 = ALT, NaN where either allele is missing; the left and right GT allele.
    A haploid call carries its allele on both haplotypes (MAGE's hap2dip: ``1`` -> ``1|1``). ``unphased``: diploid
    heterozygous calls without phase (``0/1``), which the caller must reject or accept."""

    chrom: str
    pos: int
    vcf_id: str
    ref: str
    alts: list[str]
    h1: np.ndarray
    h2: np.ndarray
    unphased: np.ndarray


def haplotypes_from_gt(genotype: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h1, h2, unphased heterozygous mask) from a cyvcf2 ``genotype.array()`` (alleles then phased flag).

    Allele indices are returned as float (1 = first ALT); any missing allele (-1) makes both haplotypes NaN; a
    haploid call (one allele column, or -2 vector end in the second) is copied to both haplotypes. Ploidy above 2
    raises ValueError."""
    alleles = genotype[:, :-1]
    if alleles.shape[1] > 2 and (alleles[:, 2:] != -2).any():
        raise ValueError("ploidy above 2")
    first = alleles[:, 0].astype(float)
    second = alleles[:, 1].astype(float) if alleles.shape[1] > 1 else np.full(len(alleles), -2.0)
    haploid = second == -2
    second = np.where(haploid, first, second)
    missing = (first < 0) | (second < 0)
    phased = genotype[:, -1] == 1
    unphased = ~haploid & ~missing & ~phased & (first != second)
    first[missing] = np.nan
    second[missing] = np.nan
    return first, second, unphased


def variant_names(chrom: str, pos: int, vcf_id: str | None, ref: str, alts: list[str]) -> set[str]:
    """Names a record answers to: its VCF ID(s) (``;``-separated) and ``chr_pos_ref_alt`` for each ALT allele."""
    names = {f"{chrom}_{pos}_{ref}_{alt}" for alt in alts}
    if vcf_id and vcf_id != ".":
        names.update(vcf_id.split(";"))
    return names


def find_phased_variants(vcf, chrom: str, start: int, end: int, variant_id: str, sample_index: np.ndarray) -> list[PhasedVariant]:
    """Records starting in [start, end] (1-based) on ``chrom`` whose VCF ID or ``chr_pos_ref_alt`` is ``variant_id``,
    with their haplotypes for ``sample_index`` (indices into ``vcf.samples``). An absent contig gives []."""
    if chrom not in set(vcf.seqnames):
        return []
    found = []
    for record in query(vcf, f"{chrom}:{start}-{end}"):
        if not start <= record.POS <= end:
            continue
        ref, alts = record.REF, list(record.ALT)
        if variant_id not in variant_names(record.CHROM, record.POS, record.ID, ref, alts):
            continue
        genotype = record.genotype
        if genotype is None:
            raise InputError(f"variant {variant_id} ({record.CHROM}:{record.POS}): the record has no GT field")
        try:
            h1, h2, unphased = haplotypes_from_gt(genotype.array()[sample_index])
        except ValueError as err:
            raise InputError(f"variant {variant_id} ({record.CHROM}:{record.POS}): {err}") from err
        found.append(PhasedVariant(record.CHROM, int(record.POS), record.ID or ".", ref, alts, h1, h2, unphased))
    return found
