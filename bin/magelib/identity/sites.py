"""Identity sites: the panel of common exonic SNPs used for genotype concordance (selection from the VCF,
written and read as a TSV), and the dosage coding of cyvcf2 genotype types."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..cli import InputError
from ..io.atomic import atomic_path

MISSING = -1  # genotype code for a missing call (genotypes are ALT dosages 0, 1, 2)


@dataclass
class Panel:
    chrom: np.ndarray  # str, one per site
    pos: np.ndarray  # int64, 1-based
    ref: np.ndarray  # str, one base
    alt: np.ndarray  # str, one base
    individuals: list[str]
    genotypes: np.ndarray  # int8 sites x individuals: ALT dosage 0/1/2 (haploid calls as 0/2), -1 missing

    def __len__(self) -> int:
        return len(self.pos)


SITE_COLUMNS = ["chrom", "pos", "ref", "alt"]


def write_panel(panel: Panel, path: str | os.PathLike) -> None:
    """Parquet: chrom, pos, ref, alt, then one int8 column per individual (deterministic bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "chrom": pa.array(panel.chrom.astype(str)),
        "pos": pa.array(panel.pos.astype(np.int64)),
        "ref": pa.array(panel.ref.astype(str)),
        "alt": pa.array(panel.alt.astype(str)),
    }
    for j, name in enumerate(panel.individuals):
        columns[name] = pa.array(panel.genotypes[:, j].astype(np.int8))
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns), tmp, compression="zstd")


def read_panel(path: str | os.PathLike) -> Panel:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (FileNotFoundError, OSError) as err:
        raise InputError(f"{path}: cannot read identity panel ({err})") from err
    names = table.column_names
    if names[:4] != SITE_COLUMNS or len(names) < 5:
        raise InputError(f"{path}: identity panel must start with columns {', '.join(SITE_COLUMNS)} then individuals")
    individuals = names[4:]
    genotypes = np.empty((table.num_rows, len(individuals)), dtype=np.int8)
    for j, name in enumerate(individuals):
        genotypes[:, j] = table.column(name).to_numpy()
    return Panel(
        chrom=np.asarray(table.column("chrom").to_pylist(), dtype=object),
        pos=table.column("pos").to_numpy().astype(np.int64),
        ref=np.asarray(table.column("ref").to_pylist(), dtype=object),
        alt=np.asarray(table.column("alt").to_pylist(), dtype=object),
        individuals=individuals,
        genotypes=genotypes,
    )


def merged_exons(exons: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """Per chromosome, sorted non-overlapping 1-based inclusive intervals covering every exon."""
    merged: dict[str, list[tuple[int, int]]] = {}
    for chrom, group in exons.groupby("chrom", sort=False):
        intervals = []
        for start, end in sorted(zip(group["start"].astype(int), group["end"].astype(int), strict=True)):
            if intervals and start <= intervals[-1][1] + 1:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], end))
            else:
                intervals.append((start, end))
        merged[str(chrom)] = intervals
    return merged


def dosage_from_gt_types(gt_types: np.ndarray) -> np.ndarray:
    """cyvcf2 gt_types with gts012=True (0 hom-ref, 1 het, 2 hom-alt, 3 unknown) -> int8 dosage, -1 missing.

    cyvcf2 reports a haploid '0' or '1' (male chrX outside the PAR) as hom-ref / hom-alt, i.e. dosage 0 or 2,
    which is MAGE's 0/2 coding of male chrX and also what a hemizygous library shows: one allele.
    """
    dosage = gt_types.astype(np.int8)
    dosage[gt_types == 3] = MISSING
    return dosage


def select_sites(
    vcf_path: str | os.PathLike,
    regions: dict[str, list[tuple[int, int]]] | None,
    min_maf: float,
    min_distance: int,
) -> Panel:
    """Biallelic SNPs of the VCF (inside ``regions`` when given) with MAF >= min_maf among the VCF's individuals,
    keeping a site only if it lies at least ``min_distance`` bp after the previous kept site (thins LD).

    The VCF is read once, through its index when regions are given (one query per merged exon).
    """
    from cyvcf2 import VCF

    try:
        vcf = VCF(str(vcf_path), gts012=True, lazy=True)
    except (OSError, FileNotFoundError) as err:
        raise InputError(f"{vcf_path}: cannot open VCF ({err})") from err
    individuals = list(vcf.samples)
    if not individuals:
        raise InputError(f"{vcf_path}: VCF has no samples")
    if regions is not None:
        contigs = set(vcf.seqnames)
        shared = [c for c in regions if c in contigs]
        if not shared:
            raise InputError(
                f"{vcf_path}: no contig of the GTF ({', '.join(sorted(regions)[:3])}...) is in the VCF "
                f"({', '.join(sorted(contigs)[:3])}...): contig naming mismatch (e.g. 'chr1' vs '1')"
            )
        records = (
            record for chrom in shared for start, end in regions[chrom] for record in _query(vcf, f"{chrom}:{start}-{end}")
        )
    else:
        records = iter(vcf)

    chrom, pos, ref, alt, genotypes = [], [], [], [], []
    last_chrom, last_pos, previous, repeated = None, -(10**12), None, set()
    for record in records:
        key = (record.CHROM, record.POS)
        if key == previous:  # two records at one position: a split multiallelic site, dropped below
            repeated.add(key)
            continue
        previous = key
        if len(record.ALT) != 1 or len(record.REF) != 1 or len(record.ALT[0]) != 1 or record.ALT[0] not in "ACGT":
            continue
        if record.CHROM != last_chrom:
            last_chrom, last_pos = record.CHROM, -(10**12)
        if record.POS - last_pos < min_distance:
            continue
        dosage = dosage_from_gt_types(record.gt_types)
        called = dosage[dosage >= 0]
        if len(called) == 0:
            continue
        frequency = called.mean() / 2.0
        if min(frequency, 1.0 - frequency) < min_maf:
            continue
        chrom.append(record.CHROM)
        pos.append(record.POS)
        ref.append(record.REF)
        alt.append(record.ALT[0])
        genotypes.append(dosage)
        last_pos = record.POS
    vcf.close()
    # A split multiallelic site has a third allele, which would be read as REF in the dosages.
    keep = [i for i, key in enumerate(zip(chrom, pos, strict=True)) if key not in repeated]
    chrom, pos, ref, alt, genotypes = ([values[i] for i in keep] for values in (chrom, pos, ref, alt, genotypes))
    if not pos:
        raise InputError(f"{vcf_path}: no biallelic SNP with MAF >= {min_maf} in the selected regions")
    return Panel(
        chrom=np.asarray(chrom, dtype=object),
        pos=np.asarray(pos, dtype=np.int64),
        ref=np.asarray(ref, dtype=object),
        alt=np.asarray(alt, dtype=object),
        individuals=individuals,
        genotypes=np.vstack(genotypes),
    )


def _query(vcf, region: str) -> list:
    """Records of one region; a contig declared in the header but without records is not an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # cyvcf2: "no intervals found for ... at <region>"
        return list(vcf(region))
