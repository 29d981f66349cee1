"""Genotypes for cis-QTL mapping: VCF/BCF streaming and the prepared genotype store.

Genotype store (written by ``prepare_genotypes.py``, read by ``cis_qtl.py``): a directory holding

- ``manifest.json``: ``{"format": "mage-genotype-store", "version": 1, "samples": [...], "dosage": "GT" | "DS",
  "maf": <filter used>, "chrx": <policy>, "par_regions": [...], "chromosomes": {<chrom>: <n variants>}, ...}``;
- ``samples.txt``: one individual per line, the column order of every dosage matrix;
- per chromosome ``<chrom>.dosage.npy``: variants x samples, ALT-allele dosage, memory-mappable;
  ``int8`` (0/1/2, -1 = missing) when built from GT, ``float32`` (NaN = missing) when the VCF has DS;
- per chromosome ``<chrom>.variants.parquet``: ``chrom pos variant_id ref alt af`` in the same row order, sorted by
  position; ``pos`` is 1-based (VCF POS), ``variant_id`` is ``chr_pos_ref_alt`` (unique), ``af`` the ALT frequency
  among the store's samples (missing genotypes excluded).

Only biallelic SNPs and indels are kept (symbolic, breakend, ``*`` and missing ALT alleles are dropped). A
region is read by binary search on ``pos`` and a slice of the memory-mapped matrix, so memory follows the region,
never the chromosome. Missing genotypes are mean-imputed when loaded, over the samples being mapped (FastQTL).

Genotype coding (FastQTL): DS when the record has it, else GT as the number of ALT alleles; a haploid call counts
twice (MAGE's hap2dip: ``0`` -> 0, ``1`` -> 2); any missing allele makes the call missing. No genotype is changed
because of a sex label: on chrX outside the pseudo-autosomal regions, individuals labelled male with heterozygous
calls and individuals labelled female with haploid calls are only reported (manifest ``sex_warnings`` and stderr),
as likely label errors for the sex check.

Plain VCF/BCF files (bgzipped and indexed) are read the same way by region, so ``cis_qtl.py`` also runs on them
directly; there the variant ID is the VCF ID (``chr_pos_ref_alt`` when it is ``.``).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .cli import InputError

STORE_FORMAT = "mage-genotype-store"
STORE_VERSION = 1
VARIANT_COLUMNS = ["chrom", "pos", "variant_id", "ref", "alt", "af"]
# Pseudo-autosomal regions (1-based inclusive), GRCh38 and GRCh37
PAR_GRCH38 = "chrX:10001-2781479,chrX:155701383-156030895"
PAR_GRCH37 = "X:60001-2699520,X:154931044-155260560"
SEX_CODES = {"male": "male", "m": "male", "1": "male", "female": "female", "f": "female", "2": "female"}
BLOCK = 4096  # variants parsed per block


# ---------------------------------------------------------------------------------------------------------------
# Genotype coding and allele-frequency summaries
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# Reading VCF/BCF with cyvcf2
# ---------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------
# The genotype store
# ---------------------------------------------------------------------------------------------------------------


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
            return _empty(len(sample_index))
        table = self.variants(chrom)
        lo, hi = np.searchsorted(table["pos"].to_numpy(), [start, end + 1])
        block = np.asarray(self._matrix[chrom][lo:hi])[:, sample_index]
        if block.dtype == np.int8:
            dosage = block.astype(float)
            dosage[block < 0] = np.nan
        else:
            dosage = block.astype(float)
        return table.iloc[lo:hi, :5].reset_index(drop=True), dosage


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
            return _empty(len(sample_index))
        records = (r for r in query(self.vcf, f"{chrom}:{start}-{end}") if start <= r.POS <= end)
        blocks = list(vcf_blocks(self.vcf, records, sample_index, self.use_ds, self.path, id_from_vcf=True))
        if not blocks:
            return _empty(len(sample_index))
        return pd.concat([b.table for b in blocks], ignore_index=True), np.vstack([b.dosage for b in blocks])


def _empty(n_samples: int) -> tuple[pd.DataFrame, np.ndarray]:
    table = pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in zip(VARIANT_COLUMNS[:5], [str, np.int64, str, str, str], strict=True)}
    )
    return table, np.empty((0, n_samples))


def open_genotypes(path: str | os.PathLike, samples: list[str] | None = None):
    """A GenotypeStore for a store directory, else a VcfGenotypes for a VCF/BCF file (parsing only ``samples``)."""
    if Path(path).is_dir():
        return GenotypeStore(path)
    return VcfGenotypes(path, samples)


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


# ---------------------------------------------------------------------------------------------------------------
# Building the store (prepare_genotypes.py)
# ---------------------------------------------------------------------------------------------------------------


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
    from .io import natural_key

    return natural_key(chrom)
