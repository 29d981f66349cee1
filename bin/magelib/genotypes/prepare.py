"""Genotype preparation (``prepare_genotypes.py``): VCF/BCF per contig -> the genotype store, restricted to the
mapped individuals, with the MAF filter, the chrX policy and sex-label warnings."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..cli import InputError
from ..io.genotype_store import STORE_FORMAT, STORE_VERSION, StoreWriter, write_manifest
from ..io.tables import natural_key
from ..io.vcf import PAR_GRCH38, allele_counts, has_ds, is_chrx, open_vcf, parse_regions, query, vcf_blocks

SEX_CODES = {"male": "male", "m": "male", "1": "male", "female": "female", "f": "female", "2": "female"}


def read_sample_table(path: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """Individuals (first occurrence order) and their sex from a TSV with ``individual`` [and ``sex``] columns.

    A file without an ``individual`` header is read as one individual per line. Sex values: male/female, M/F, 1/2.
    """
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read the sample table ({err})") from err
    if "individual" not in table.columns:
        table = pd.read_csv(path, sep="\t", dtype=str, header=None, usecols=[0], names=["individual"], keep_default_na=False)
    table = table[table["individual"].str.strip() != ""]
    if table.empty:
        raise InputError(f"{path}: no individuals listed")
    sexes: dict[str, str] = {}
    if "sex" in table.columns:
        for lineno, (individual, raw) in enumerate(zip(table["individual"], table["sex"], strict=True), 2):
            sex = SEX_CODES.get(raw.strip().lower())
            if raw.strip() and sex is None:
                raise InputError(f"{path}: line {lineno}: sex '{raw}' of '{individual}' is not male/female, M/F or 1/2")
            if individual in sexes and sex and sexes[individual] and sexes[individual] != sex:
                raise InputError(f"{path}: individual '{individual}' is listed as both {sexes[individual]} and {sex}")
            sexes[individual] = sex or sexes.get(individual, "")
    return list(dict.fromkeys(table["individual"])), sexes


def in_regions(chrom: str, pos: np.ndarray, regions: list[tuple[str, int, int]]) -> np.ndarray:
    inside = np.zeros(len(pos), dtype=bool)
    for r_chrom, start, end in regions:
        if r_chrom == chrom:
            inside |= (pos >= start) & (pos <= end)
    return inside


@dataclass
class PrepareSettings:
    individuals: list[str]
    sexes: dict[str, str]
    maf: float = 0.01
    chrx: str = "diploid"  # or "exclude"
    par_regions: list[tuple[str, int, int]] = field(default_factory=lambda: parse_regions(PAR_GRCH38))
    chromosomes: list[str] | None = None  # None: every contig except Y and M
    threads: int = 1


def wanted_contig(chrom: str, settings: PrepareSettings) -> bool:
    if settings.chromosomes is not None:
        return chrom in settings.chromosomes
    if is_chrx(chrom):
        return settings.chrx != "exclude"
    return chrom.removeprefix("chr") not in ("Y", "M", "MT")


def _prepare_contig(args) -> dict:
    """Stream one contig (or a whole unindexed file when chrom is None) into the store; return per-contig counts."""
    vcf_path, chrom, out_dir, settings = args
    vcf = open_vcf(vcf_path, settings.individuals)
    samples = list(vcf.samples)
    sample_index = np.array([samples.index(s) for s in settings.individuals])
    use_ds = has_ds(vcf)
    dtype = np.float32 if use_ds else np.int8
    sexes = np.array([settings.sexes.get(s, "") for s in settings.individuals])
    records = query(vcf, chrom) if chrom is not None else vcf
    writers: dict[str, StoreWriter] = {}
    counts: dict[str, dict] = {}
    # chrX outside the PARs: heterozygous calls of labelled males, haploid calls of labelled females
    suspicious = np.zeros(len(settings.individuals), dtype=np.int64)
    current = None
    for block in vcf_blocks(vcf, records, sample_index, use_ds, vcf_path, id_from_vcf=False):
        for contig, part in block.table.groupby("chrom", sort=False):
            if not wanted_contig(contig, settings):
                continue
            rows = part.index.to_numpy()
            table, dosage = part.reset_index(drop=True), block.dosage[rows]
            if contig != current:
                if contig in writers:
                    raise InputError(f"{vcf_path}: records of {contig} are not contiguous (sort the VCF)")
                writers[contig] = StoreWriter(Path(out_dir), contig, dtype, len(sample_index))
                counts[contig] = {"parsed": 0, "kept": 0}
                current = contig
            if is_chrx(contig):
                outside = ~in_regions(contig, table["pos"].to_numpy(), settings.par_regions)
                haploid = block.haploid[rows][outside] & ~np.isnan(dosage[outside])
                het = (dosage[outside] == 1) & ~haploid
                suspicious += np.where(sexes == "male", het.sum(axis=0), 0) + np.where(sexes == "female", haploid.sum(axis=0), 0)
            summary = allele_counts(dosage)
            keep = (summary["maf"] >= settings.maf) & (summary["maf"] > 0)
            table = table[keep].copy()
            table["af"] = summary["af"][keep]
            writers[contig].append(table, dosage[keep])
            counts[contig]["parsed"] += len(keep)
    for contig in counts:
        if is_chrx(contig):
            counts[contig]["sex_warnings"] = {
                s: f"labelled {sex}: {n} {'heterozygous' if sex == 'male' else 'haploid'} calls outside the PARs"
                for s, sex, n in zip(settings.individuals, sexes, suspicious, strict=True)
                if n > 0
            }
    for contig, writer in writers.items():
        counts[contig]["kept"] = writer.close()
        counts[contig]["duplicates_dropped"] = writer.duplicates
    return counts


def prepare_store(vcf_paths: list[str], out_dir: str | os.PathLike, settings: PrepareSettings) -> dict:
    """Build the genotype store from one or more VCF/BCF files (e.g. one per chromosome); return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks, dosage_kinds = [], set()
    for path in vcf_paths:
        vcf = open_vcf(path)
        missing = [s for s in settings.individuals if s not in set(vcf.samples)]
        if missing:
            raise InputError(f"{path}: individual '{missing[0]}' is not a VCF sample ({len(missing)} missing in all)")
        dosage_kinds.add("DS" if has_ds(vcf) else "GT")
        indexed = Path(f"{path}.tbi").exists() or Path(f"{path}.csi").exists()
        if indexed:
            tasks += [(str(path), c, str(out_dir), settings) for c in vcf.seqnames if wanted_contig(c, settings)]
        else:
            tasks.append((str(path), None, str(out_dir), settings))
    if len(dosage_kinds) > 1:
        raise InputError("the VCFs mix DS and GT-only files; give files of one kind")
    if settings.threads > 1 and len(tasks) > 1:
        from multiprocessing import get_context

        with get_context("spawn").Pool(settings.threads) as pool:
            results = pool.map(_prepare_contig, tasks)
    else:
        results = [_prepare_contig(task) for task in tasks]
    per_contig: dict[str, dict] = {}
    for result in results:
        for contig, counts in result.items():
            if contig in per_contig:
                raise InputError(f"chromosome {contig} appears in more than one VCF")
            per_contig[contig] = counts
    empty = [c for c, counts in per_contig.items() if counts["kept"] == 0]
    for contig in empty:
        for suffix in (".dosage.npy", ".variants.parquet"):
            (out_dir / f"{contig}{suffix}").unlink()
    kept = {c: v for c, v in per_contig.items() if v["kept"] > 0}
    if not kept:
        raise InputError(f"no variant passed the filters (biallelic, MAF >= {settings.maf}) in {', '.join(map(str, vcf_paths))}")
    chromosomes = {c: kept[c]["kept"] for c in sorted(kept, key=_natural)}
    manifest = {
        "format": STORE_FORMAT,
        "version": STORE_VERSION,
        "samples": settings.individuals,
        "dosage": dosage_kinds.pop(),
        "maf": settings.maf,
        "chrx": settings.chrx,
        "par_regions": [f"{c}:{s}-{e}" for c, s, e in settings.par_regions],
        "chromosomes": chromosomes,
        "counts": {c: per_contig[c] for c in sorted(per_contig, key=_natural)},
        "sex_warnings": {k: v for c in per_contig for k, v in per_contig[c].get("sex_warnings", {}).items()},
        "sources": [Path(p).name for p in vcf_paths],
    }
    write_manifest(out_dir, manifest)
    return manifest


def _natural(chrom: str) -> tuple:

    return natural_key(chrom)
