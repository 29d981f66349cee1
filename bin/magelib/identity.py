"""Sample identity: sex from XIST/chrY expression, and genotype concordance of RNA-seq libraries with a VCF panel.

Concordance metric (robust to allelic imbalance and monoallelic expression, see docs/usage_identity.md):
each library site with at least ``min_depth`` REF+ALT reads is classed by the alleles it shows, an allele being
"seen" with at least ``min_allele_reads`` reads and ``min_allele_fraction`` of the depth:

- both alleles seen: consistent with a heterozygous individual, inconsistent with either homozygote;
- one allele seen: consistent with the homozygote of that allele, inconsistent with the other homozygote, and
  **not counted** for a heterozygote (monoallelic expression and sampling make one allele at a true het common).

concordance(library, individual) = consistent sites / counted sites. All libraries are scored against all
individuals at once with matrix products over chunks of sites, so 779 libraries x 3,202 individuals is a few
seconds of BLAS.
"""

from __future__ import annotations

import gzip
import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom

from .cli import InputError

# Library allele states at a site.
NOT_INFORMATIVE, REF_ONLY, BOTH, ALT_ONLY = -1, 0, 1, 2
MISSING = -1  # genotype code for a missing call (genotypes are ALT dosages 0, 1, 2)

SEX_CODES = {"female": "female", "f": "female", "2": "female", "male": "male", "m": "male", "1": "male"}
XIST_GENES = ("XIST",)
CHRY_GENES = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY")


# ----------------------------------------------------------------------------------------------------------------
# Sample table


def read_sample_table(path: str | os.PathLike) -> pd.DataFrame:
    """The samplesheet-derived table (one row per library), indexed by library ID; needs sample and individual."""
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError) as err:
        raise InputError(f"{path}: cannot read sample table ({err})") from err
    if "sample" not in table.columns and "library" in table.columns:
        table = table.rename(columns={"library": "sample"})
    for column in ("sample", "individual"):
        if column not in table.columns:
            raise InputError(f"{path}: sample table has no '{column}' column (found {', '.join(table.columns)})")
    empty = table.index[(table["sample"] == "") | (table["individual"] == "")]
    if len(empty):
        raise InputError(f"{path} line {empty[0] + 2}: empty sample or individual")
    duplicated = table["sample"][table["sample"].duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: duplicate sample '{duplicated.iat[0]}'")
    if "sex" not in table.columns:
        table["sex"] = ""
    table["sex"] = [SEX_CODES.get(str(s).strip().lower(), "unknown") for s in table["sex"]]
    return table.set_index("sample", drop=False)


# ----------------------------------------------------------------------------------------------------------------
# Sex check


def marker_genes(gene_table: pd.DataFrame, names: tuple[str, ...] | list[str]) -> list[str]:
    """gene_ids whose gene_name is in ``names`` (GTF gene table from magelib.gtf.genes)."""
    return sorted(gene_table.index[gene_table["gene_name"].isin(list(names))])


def sex_scores(tpm: pd.DataFrame, xist_ids: list[str], chry_ids: list[str]) -> pd.DataFrame:
    """Per library: log2(XIST TPM + 1) and log2(sum of chrY-gene TPM + 1). Markers absent from the matrix count as 0."""
    xist = tpm.reindex(xist_ids).fillna(0.0).sum(axis=0)
    chry = tpm.reindex(chry_ids).fillna(0.0).sum(axis=0)
    return pd.DataFrame({"xist_log2tpm": np.log2(xist + 1.0), "chry_log2tpm": np.log2(chry + 1.0)})


def infer_sex(scores: pd.DataFrame, xist_min_tpm: float, chry_min_tpm: float) -> pd.Series:
    """female: XIST on and chrY off; male: chrY on and XIST off; otherwise ambiguous (both on: XXY or a mixture;
    both off: XIST erosion in a female line or loss of Y in a male one). "On" means TPM >= the threshold."""
    xist_on = scores["xist_log2tpm"] >= math.log2(xist_min_tpm + 1.0)
    chry_on = scores["chry_log2tpm"] >= math.log2(chry_min_tpm + 1.0)
    inferred = np.where(xist_on & ~chry_on, "female", np.where(chry_on & ~xist_on, "male", "ambiguous"))
    return pd.Series(inferred, index=scores.index, name="inferred_sex")


# ----------------------------------------------------------------------------------------------------------------
# Identity panel: the sites and every individual's genotypes there


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

    from .io import atomic_path

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


# ----------------------------------------------------------------------------------------------------------------
# Library allele counts (BCFTOOLS_MPILEUP output)


def read_allele_counts(
    path: str | os.PathLike, panel: Panel, site_index: pd.MultiIndex | None = None
) -> tuple[str, np.ndarray, np.ndarray]:
    """Read one library's ``<lib>.allele_counts.tsv.gz`` (first line ``#library<TAB><id>``, then
    chrom, pos, ref, alt, AD as written by ``bcftools query -f '%CHROM\\t%POS\\t%REF\\t%ALT\\t[%AD]\\n'``).

    Returns (library, ref_counts, alt_counts) aligned to the panel's sites (0 where the pileup has no record).
    A REF that is not 'N' (mpileup run without a reference) must equal the panel's REF.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt") as handle:
            first = handle.readline().rstrip("\n").split("\t")
    except (FileNotFoundError, OSError, EOFError) as err:
        raise InputError(f"{path}: cannot read allele counts ({err})") from err
    if len(first) != 2 or first[0] != "#library" or not first[1]:
        raise InputError(f"{path} line 1: expected '#library<TAB><library id>'")
    library = first[1]
    try:
        table = pd.read_csv(
            path,
            sep="\t",
            skiprows=1,
            header=None,
            names=["chrom", "pos", "ref", "alt", "ad"],
            dtype={"chrom": str, "ref": str, "alt": str, "ad": str},
        )
    except pd.errors.EmptyDataError:
        table = pd.DataFrame(columns=["chrom", "pos", "ref", "alt", "ad"])
    except (ValueError, pd.errors.ParserError) as err:
        raise InputError(f"{path}: malformed allele counts ({err})") from err
    ref_counts = np.zeros(len(panel), dtype=np.int64)
    alt_counts = np.zeros(len(panel), dtype=np.int64)
    if table.empty:
        return library, ref_counts, alt_counts
    if table["pos"].dtype.kind not in "iu":
        raise InputError(f"{path}: column 2 (pos) is not an integer on every line")
    index = site_index if site_index is not None else panel_site_index(panel)
    rows = index.get_indexer(pd.MultiIndex.from_arrays([table["chrom"], table["pos"]]))
    keep = rows >= 0
    table, rows = table[keep], rows[keep]
    if table.empty:
        return library, ref_counts, alt_counts
    if pd.Index(rows).duplicated().any():
        dup = table.iloc[int(np.flatnonzero(pd.Index(rows).duplicated())[0])]
        raise InputError(f"{path}: site {dup['chrom']}:{dup['pos']} appears twice")
    bad_ref = (table["ref"].to_numpy() != "N") & (table["ref"].to_numpy() != panel.ref[rows])
    if bad_ref.any():
        i = int(np.flatnonzero(bad_ref)[0])
        raise InputError(
            f"{path}: REF '{table['ref'].iat[i]}' at {table['chrom'].iat[i]}:{table['pos'].iat[i]} differs from the VCF's "
            f"'{panel.ref[rows[i]]}': the genome FASTA and the VCF are not on the same build"
        )
    alleles = (table["ref"] + "," + table["alt"]).str.split(",", expand=True).to_numpy(dtype=object)
    depths = table["ad"].str.split(",", expand=True)
    if depths.shape[1] != alleles.shape[1] or (depths.isna().to_numpy() != pd.isna(alleles)).any():
        raise InputError(f"{path}: the AD column does not have one count per allele on every line")
    depths = depths.fillna("0").replace(".", "0")
    try:
        depths = depths.to_numpy(dtype=np.int64)
    except ValueError as err:
        raise InputError(f"{path}: non-integer AD value ({err})") from err
    ref_counts[rows] = (depths * (alleles == panel.ref[rows][:, None])).sum(axis=1)
    alt_counts[rows] = (depths * (alleles == panel.alt[rows][:, None])).sum(axis=1)
    return library, ref_counts, alt_counts


def panel_site_index(panel: Panel) -> pd.MultiIndex:
    """(chrom, pos) of every panel site, for vectorised lookups of pileup rows."""
    return pd.MultiIndex.from_arrays([panel.chrom.astype(str), panel.pos])


def allele_states(
    ref: np.ndarray, alt: np.ndarray, min_depth: int, min_allele_reads: int, min_allele_fraction: float
) -> np.ndarray:
    """Library state per site: REF_ONLY, BOTH, ALT_ONLY, or NOT_INFORMATIVE (REF+ALT depth < min_depth)."""
    depth = ref + alt
    ref_seen = (ref >= min_allele_reads) & (ref >= min_allele_fraction * depth)
    alt_seen = (alt >= min_allele_reads) & (alt >= min_allele_fraction * depth)
    states = np.full(ref.shape, NOT_INFORMATIVE, dtype=np.int8)
    states[ref_seen & ~alt_seen] = REF_ONLY
    states[alt_seen & ~ref_seen] = ALT_ONLY
    states[ref_seen & alt_seen] = BOTH
    states[depth < min_depth] = NOT_INFORMATIVE
    return states


# ----------------------------------------------------------------------------------------------------------------
# Concordance of every library with every individual


def concordance_counts(states: np.ndarray, genotypes: np.ndarray, chunk: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """(consistent, counted), each libraries x individuals, for states (sites x libraries) and genotypes
    (sites x individuals). Indicator matrices are multiplied in float32 (exact for counts below 2**24)."""
    n_sites = states.shape[0]
    if genotypes.shape[0] != n_sites:
        raise ValueError("states and genotypes must have the same sites")
    consistent = np.zeros((states.shape[1], genotypes.shape[1]), dtype=np.float64)
    counted = np.zeros_like(consistent)
    for start in range(0, n_sites, chunk):
        s = states[start : start + chunk]
        g = genotypes[start : start + chunk]
        both, ref_only, alt_only = ((s == state).astype(np.float32) for state in (BOTH, REF_ONLY, ALT_ONLY))
        het, hom_ref, hom_alt = ((g == dosage).astype(np.float32) for dosage in (1, 0, 2))
        both_het = both.T @ het
        # consistent = both.het + ref.homref + alt.homalt; counted = both.het + (any state).(any homozygote)
        consistent += both_het + np.concatenate([ref_only, alt_only]).T @ np.concatenate([hom_ref, hom_alt])
        counted += both_het + (both + ref_only + alt_only).T @ (hom_ref + hom_alt)
    return consistent.round().astype(np.int64), counted.round().astype(np.int64)


def site_consistency(states: np.ndarray, dosage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one library and one individual: (consistent, counted) booleans per site."""
    counted = ((states == BOTH) & (dosage >= 0)) | (
        ((states == REF_ONLY) | (states == ALT_ONLY)) & ((dosage == 0) | (dosage == 2))
    )
    consistent = (
        ((states == BOTH) & (dosage == 1)) | ((states == REF_ONLY) & (dosage == 0)) | ((states == ALT_ONLY) & (dosage == 2))
    )
    return consistent, counted


def tie_pvalue(states: np.ndarray, better: np.ndarray, other: np.ndarray) -> tuple[float, int, int]:
    """One-sided sign test that individual ``better`` explains the library better than ``other``.

    Over sites counted for both, n_better = sites consistent with ``better`` only, n_other = with ``other`` only;
    p = P(X >= n_better), X ~ Binomial(n_better + n_other, 1/2). Returns (p, n_better, n_other).
    """
    cons_a, counted_a = site_consistency(states, better)
    cons_b, counted_b = site_consistency(states, other)
    shared = counted_a & counted_b
    n_better = int((shared & cons_a & ~cons_b).sum())
    n_other = int((shared & cons_b & ~cons_a).sum())
    p = float(binom.sf(n_better - 1, n_better + n_other, 0.5)) if n_better + n_other else 1.0
    return p, n_better, n_other


def mbv_counts(states: np.ndarray, genotypes: np.ndarray) -> pd.DataFrame:
    """QTLtools mbv's per-individual columns for one library (states from allele_states with min_allele_reads=1,
    min_allele_fraction=0 and mbv's --filter-minimal-coverage as min_depth), for checking against QTLtools.

    mbv counts a homozygote as consistent whenever the library shows a single allele, whichever it is."""
    covered = (states != NOT_INFORMATIVE)[:, None]
    het, hom = genotypes == 1, (genotypes == 0) | (genotypes == 2)
    both = (states == BOTH)[:, None]
    return pd.DataFrame(
        {
            "n_het_covered": (covered & het).sum(axis=0),
            "n_het_consistent": (both & het).sum(axis=0),
            "n_hom_covered": (covered & hom).sum(axis=0),
            "n_hom_consistent": (covered & ~both & hom).sum(axis=0),
        }
    )


@dataclass(frozen=True)
class VerdictRules:
    min_concordance: float
    min_sites: int
    alpha: float


def judge_library(
    library: str,
    labelled: str,
    states: np.ndarray,
    panel: Panel,
    consistent: np.ndarray,
    counted: np.ndarray,
    rules: VerdictRules,
) -> dict:
    """Best match, runner-up and verdict for one library (its rows of the concordance matrices).

    Verdicts: ok (labelled individual is the best match and beats the runner-up by a sign test at ``alpha``),
    swap (another individual beats the labelled one by that test), unknown (no individual reaches
    ``min_concordance``: contamination or a sample absent from the VCF), ambiguous (too few informative sites,
    or the labelled individual and the best or runner-up cannot be told apart on these sites).
    """
    names = panel.individuals
    col = {name: j for j, name in enumerate(names)}
    if labelled not in col:
        raise InputError(f"library '{library}': its individual '{labelled}' is not in the identity panel (VCF samples)")
    with np.errstate(invalid="ignore", divide="ignore"):
        concordance = np.where(counted > 0, consistent / np.maximum(counted, 1), np.nan)
    score = np.nan_to_num(concordance, nan=-1.0)
    lab = col[labelled]
    # Best: highest concordance; ties go to the labelled individual, then to more counted sites, then to the name.
    not_labelled = np.ones(len(names), dtype=bool)
    not_labelled[lab] = False
    order = np.lexsort((name_rank(names), -counted, not_labelled, -score))
    best = int(order[0])
    runner_up = int(order[1]) if len(order) > 1 else None
    n_tied = int((score == score[best]).sum()) if score[best] >= 0 else len(names)
    row = {
        "sample": library,
        "labelled_individual": labelled,
        "n_sites": int((states != NOT_INFORMATIVE).sum()),
        "labelled_concordance": concordance[lab],
        "labelled_sites": int(counted[lab]),
        "best_individual": names[best],
        "best_concordance": concordance[best],
        "best_sites": int(counted[best]),
        "second_individual": names[runner_up] if runner_up is not None else "",
        "second_concordance": concordance[runner_up] if runner_up is not None else np.nan,
        "n_tied_best": n_tied,
    }
    if best == lab:
        other = runner_up
        p, n_lab, n_other = (
            tie_pvalue(states, panel.genotypes[:, lab], panel.genotypes[:, other]) if other is not None else (0.0, 0, 0)
        )
    else:
        other = best
        p, n_other, n_lab = tie_pvalue(states, panel.genotypes[:, best], panel.genotypes[:, lab])
    row["tie_pvalue"] = p
    row["verdict"], row["reason"] = _verdict(
        row, best == lab, names[other] if other is not None else "", p, n_lab, n_other, rules
    )
    return row


def name_rank(names: list[str]) -> np.ndarray:
    """Rank of each name in sorted order (a deterministic last tie-breaker)."""
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    return ranks


def _verdict(
    row: dict, labelled_is_best: bool, other: str, p: float, n_lab: int, n_other: int, rules: VerdictRules
) -> tuple[str, str]:
    sites = row["labelled_sites"]
    labelled = row["labelled_individual"]
    best_conc = row["best_concordance"]
    if row["n_sites"] < rules.min_sites or sites < rules.min_sites:
        return "ambiguous", f"only {min(row['n_sites'], sites)} informative sites (< {rules.min_sites})" + _ties(row)
    if not best_conc >= rules.min_concordance:
        return "unknown", (
            f"no individual matches: best {row['best_individual']} at concordance {best_conc:.3f} < {rules.min_concordance} "
            f"over {row['best_sites']} sites (contamination, or a sample absent from the VCF)"
        )
    separation = f"{n_lab} sites fit only {labelled}, {n_other} only {other}; sign-test p = {p:.2g}"
    if not labelled_is_best:
        if p < rules.alpha:
            return "swap", (
                f"RNA matches {row['best_individual']} (concordance {best_conc:.3f}), not the labelled {labelled} "
                f"({row['labelled_concordance']:.3f}) over {row['best_sites']} sites ({separation})"
            )
        return (
            "ambiguous",
            f"{row['best_individual']} and the labelled {labelled} cannot be told apart over {sites} sites ({separation})",
        )
    if p < rules.alpha:
        return "ok", f"matches {labelled} (concordance {best_conc:.3f} over {sites} sites); against the runner-up: {separation}"
    return (
        "ambiguous",
        f"{labelled} is the best match but not clearly apart from {other} over {sites} sites ({separation})" + _ties(row),
    )


def _ties(row: dict) -> str:
    n = row["n_tied_best"]
    return f"; {n} individuals share the best concordance" if n > 1 else ""
