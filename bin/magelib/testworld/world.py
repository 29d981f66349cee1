"""The simulated test world: a small genome, annotation, phased genotypes, RNA-seq FASTQs and the truth behind them.

``simulate_world(config, out)`` writes everything under ``out`` (layout in docs/test_world.md). All randomness comes
from one ``numpy.random.default_rng(config.seed)`` consumed in a fixed order, gzip members carry no name or mtime,
and nothing depends on the clock, so a seed gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..cli import InputError
from ..io.tools import bgzip, tabix
from .genome import build_reference, fai_text, fasta_text, gencode_header, gtf_lines, splice_proximal_mask, transcript_codes
from .genotypes import alt_frequency, choose_positions, make_cohort, ploidy, simulate_genotypes, vcf_text
from .reads import Library, add_errors, build_transcriptome, draw_fragments, fastq_records, read_shares, reads_from_fragments

DEFAULT_POPULATIONS = [["YRI", "AFR"], ["LWK", "AFR"], ["CEU", "EUR"], ["CHB", "EAS"]]


@dataclass
class WorldConfig:
    """Every simulation parameter (recorded in truth/params.json)."""

    seed: int = 20240101
    individuals: int = 80
    populations: list = field(default_factory=lambda: [list(p) for p in DEFAULT_POPULATIONS])
    diverse_group: str = "AFR"  # founder weights closer to uniform: more haplotype diversity
    # genome and annotation
    autosomal_genes: int = 96
    chrx_genes: int = 10  # regular chrX genes outside the PAR (besides XIST)
    alt_splicing_fraction: float = 0.35
    unexpressed_fraction: float = 0.08
    # genotypes
    variant_spacing: int = 200  # one background SNP per this many bp on chr1, chr2, chrX
    exonic_snps_per_gene: int = 6
    n_founders: int = 8
    block_mean: float = 15000.0  # mean LD block length (bp)
    switch_prob: float = 0.7  # chance a haplotype changes founder at a block boundary
    mutation: float = 0.01  # per-allele flip rate on top of founder copying
    common_fraction: float = 0.3  # share of background sites drawn as common (2..K-2 founders carry ALT)
    # expression
    baseline_sd_log2: float = 1.0
    xist_log2: float = 3.0
    chry_log2: float = 1.0
    bio_sd_log2: float = 0.2  # per individual and gene, shared by replicate libraries
    tech_sd_log2: float = 0.08  # per library and gene
    batch_sd_log2: float = 0.15
    factor_sd_log2: list = field(default_factory=lambda: [0.2, 0.15])  # gene loadings of the hidden factors
    strong_eqtl_fraction: float = 0.25
    weak_eqtl_fraction: float = 0.2
    double_eqtl_genes: int = 2  # strong eQTL genes given a second, independent causal variant
    strong_log2_afc: list = field(default_factory=lambda: [1.0, 1.6])
    weak_log2_afc: list = field(default_factory=lambda: [0.45, 0.75])
    eqtl_window: int = 50000  # causal variants lie within this distance of the TSS
    eqtl_min_maf: float = 0.1
    sqtl_fraction: float = 0.6  # of expressed autosomal alternatively spliced genes
    sqtl_logit_effect: list = field(default_factory=lambda: [1.2, 2.2])
    sqtl_min_maf: float = 0.15
    sqtl_expression_boost_log2: float = 1.5
    alt_isoform_fraction: list = field(default_factory=lambda: [0.2, 0.5])
    population_shift_fraction: float = 0.1
    population_shift_log2: list = field(default_factory=lambda: [0.8, 1.3])
    # libraries and reads
    batches: int = 3
    replicate_batch: str = "7"
    unstranded_batch: str = "2"  # these libraries say strandedness 'unstranded' in the samplesheet, the rest 'auto'
    read_pairs: int = 3600  # median per library
    depth_sdlog: float = 0.25
    triplicate_depths: list = field(default_factory=lambda: [0.75, 1.0, 1.3])  # <ind>, <ind>-7-1, <ind>-7-2
    read_length: int = 50
    fragment_mean: float = 180.0
    fragment_sd: float = 30.0
    error_rate: float = 0.002
    noise_fraction: float = 0.01  # read pairs of random sequence (unmappable)
    quality_char: str = "F"


def check_config(config: WorldConfig) -> None:
    """Reject settings the world cannot be built with, naming the parameter."""
    if config.individuals < 8:
        raise InputError(f"--individuals {config.individuals}: need at least 8 (a triplicate, a swap and a sex mislabel)")
    if len(config.populations) < 2 or len({g for _, g in config.populations}) < 2:
        raise InputError("populations: need at least 2 populations in at least 2 continental groups")
    if config.autosomal_genes < 4:
        raise InputError(f"--genes {config.autosomal_genes}: need at least 4 autosomal genes")
    if not 31 <= config.read_length <= 150:
        raise InputError(f"--read-length {config.read_length}: must be between 31 and 150")
    if config.fragment_mean < config.read_length:
        raise InputError(f"fragment_mean {config.fragment_mean} is shorter than the read length {config.read_length}")
    if config.read_pairs < 100:
        raise InputError(f"--read-pairs {config.read_pairs}: need at least 100 read pairs per library")
    if config.seed < 0:
        raise InputError(f"--seed {config.seed}: must be a non-negative integer")
    if config.variant_spacing < 20:
        raise InputError(f"variant_spacing {config.variant_spacing}: must be at least 20 bp")


def config_from_params(path: Path) -> WorldConfig:
    """A config from a params.json written by an earlier run (unknown keys are an error)."""
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read simulation parameters ({err})") from err
    names = {f.name for f in dataclasses.fields(WorldConfig)}
    values.pop("generator", None)
    unknown = sorted(set(values) - names)
    if unknown:
        raise InputError(f"{path}: unknown simulation parameter '{unknown[0]}'")
    return WorldConfig(**values)


@dataclass
class Effects:
    baseline_log2: np.ndarray
    expressed: np.ndarray
    haploid_gene: np.ndarray  # chrX outside the PAR
    baseline_fraction: dict = field(default_factory=dict)  # gene -> second-isoform fraction
    eqtls: dict = field(default_factory=dict)  # gene -> [(variant, log2 aFC)]
    eqtl_strength: dict = field(default_factory=dict)  # gene -> strong / weak
    sqtls: dict = field(default_factory=dict)  # gene -> (variant, logit effect)
    population_shifts: dict = field(default_factory=dict)  # gene -> (continental group, log2 shift)


def _tss(gene) -> int:
    return gene.start if gene.strand == "+" else gene.end - 1


def _candidates(variants, maf, chrom, lo, hi, min_maf, used, allow_haploid) -> np.ndarray:
    ok = (variants.chrom == chrom) & (variants.pos >= lo) & (variants.pos <= hi) & (maf >= min_maf)
    if not allow_haploid:
        ok &= ~variants.haploid_region
    ok[list(used)] = False
    return np.flatnonzero(ok)


def _fill(rng, pool, n: int, try_add) -> list[int]:
    """Try genes of ``pool`` in random order until ``n`` of them took an effect; return those."""
    chosen = []
    for g in rng.permutation(np.asarray(pool, dtype=int)):
        if len(chosen) == n:
            break
        if try_add(int(g)):
            chosen.append(int(g))
    return chosen


def _signed(rng, bounds) -> float:
    return float(rng.uniform(*bounds) * rng.choice([-1, 1]))


def plant_effects(rng, config: WorldConfig, genes, variants, haps, cohort) -> Effects:
    """Choose baselines, eQTLs (strong, weak, double, chrX), sQTLs and population shifts."""
    n = len(genes)
    cls = np.array([g.gene_class for g in genes])
    baseline = rng.normal(0.0, config.baseline_sd_log2, size=n)
    regular = np.isin(cls, ["autosomal", "chrX"])
    expressed = ~(regular & (rng.random(n) < config.unexpressed_fraction))
    baseline[~expressed] = -8.0
    baseline[cls == "XIST"] = config.xist_log2
    baseline[cls == "chrY"] = config.chry_log2 + rng.normal(0, 0.3, size=(cls == "chrY").sum())
    haploid_gene = np.isin(cls, ["chrX", "XIST"])
    effects = Effects(baseline, expressed, haploid_gene)

    dosage = haps.sum(axis=2).astype(float)
    freq = alt_frequency(haps, ploidy(variants, cohort))
    maf = np.minimum(freq, 1 - freq)
    used: set[int] = set()

    for g, gene in enumerate(genes):
        if len(gene.transcripts) > 1:
            effects.baseline_fraction[g] = float(rng.uniform(*config.alt_isoform_fraction))

    auto_expr = np.flatnonzero((cls == "autosomal") & expressed)
    alt_genes = [g for g in auto_expr if len(genes[g].transcripts) > 1]
    n_sqtl = max(1, round(config.sqtl_fraction * len(alt_genes))) if alt_genes else 0
    for g in rng.permutation(alt_genes)[:n_sqtl]:
        gene = genes[g]
        cand = _candidates(variants, maf, gene.chrom, gene.start - 5000, gene.end + 5000, config.sqtl_min_maf, used, False)
        if len(cand):
            v = int(rng.choice(cand))
            used.add(v)
            effects.sqtls[int(g)] = (v, _signed(rng, config.sqtl_logit_effect))
            baseline[g] += config.sqtl_expression_boost_log2  # enough junction reads per library for leafcutter

    def add_eqtl(g: int, bounds, strength: str, allow_haploid: bool = False, avoid: int | None = None) -> bool:
        gene = genes[g]
        tss = _tss(gene)
        cand = _candidates(
            variants,
            maf,
            gene.chrom,
            tss - config.eqtl_window,
            tss + config.eqtl_window,
            config.eqtl_min_maf,
            used,
            allow_haploid,
        )
        if avoid is not None and len(cand):
            r = np.array([np.corrcoef(dosage[avoid], dosage[c])[0, 1] ** 2 for c in cand])
            cand = cand[r < 0.2]
        if not len(cand):
            return False
        v = int(rng.choice(cand))
        used.add(v)
        effects.eqtls.setdefault(int(g), []).append((v, _signed(rng, bounds)))
        effects.eqtl_strength[int(g)] = strength
        return True

    free = [int(g) for g in auto_expr if int(g) not in effects.sqtls]
    quartile, median = np.quantile(baseline[auto_expr], [0.25, 0.5])
    well_expressed = [g for g in free if baseline[g] >= quartile]
    # Strong effects go to the better-expressed half, so that 'strong' means detectable at this depth, not just large.
    top_half = [g for g in free if baseline[g] >= median]
    n_strong = max(1, round(config.strong_eqtl_fraction * len(auto_expr)))
    n_weak = max(1, round(config.weak_eqtl_fraction * len(auto_expr)))
    strong = _fill(rng, top_half, n_strong, lambda g: add_eqtl(g, config.strong_log2_afc, "strong"))
    for g in strong[: config.double_eqtl_genes]:
        add_eqtl(g, config.strong_log2_afc, "strong", avoid=effects.eqtls[g][0][0])
    remaining = [g for g in well_expressed if g not in effects.eqtls]
    _fill(rng, remaining, n_weak, lambda g: add_eqtl(g, config.weak_log2_afc, "weak"))
    for gene_class, allow_haploid in (("chrX", True), ("PAR", False)):
        pool = [int(g) for g in np.flatnonzero((cls == gene_class) & expressed)]
        for g in rng.permutation(pool):
            if add_eqtl(int(g), config.strong_log2_afc, "strong", allow_haploid=allow_haploid):
                break

    groups = sorted({grp for _, grp in config.populations})
    shiftable = [int(g) for g in auto_expr if int(g) not in effects.eqtls and int(g) not in effects.sqtls]
    n_shift = max(1, round(config.population_shift_fraction * len(auto_expr)))
    for g in rng.permutation(shiftable)[:n_shift]:
        effects.population_shifts[int(g)] = (str(rng.choice(groups)), _signed(rng, config.population_shift_log2))
    return effects


def plan_libraries(rng, config: WorldConfig, cohort) -> list[Library]:
    """One library per individual, a triplicate, a two-library swap (as MAGE §4) and a sex mislabel."""
    n = len(cohort)
    order = rng.permutation(n)
    hg = [i for i in order if cohort[i].individual.startswith("HG")] or list(order)
    trip = int(hg[0])
    partners = [i for i in order if i != trip and cohort[i].sex == cohort[trip].sex]
    partners.sort(key=lambda i: (cohort[i].population == cohort[trip].population, not cohort[i].individual.startswith("NA")))
    swap = int(partners[0])
    wrong_sex = int(next(i for i in order if i not in (trip, swap)))
    batches = [str(1 + k % config.batches) for k in range(n)]
    batches = [batches[k] for k in rng.permutation(n)]
    depth = np.rint(config.read_pairs * np.exp(rng.normal(0, config.depth_sdlog, size=n))).astype(int)

    libraries = []
    for i, ind in enumerate(cohort):
        lib = Library(ind.sequencing_id, i, i, batches[i], int(depth[i]), ind.sex, [])
        if i == wrong_sex:
            lib.labelled_sex = "female" if ind.sex == "male" else "male"
            lib.issues.append("wrong_sex_label")
        libraries.append(lib)
    base = libraries[trip]
    base.read_pairs = int(round(config.read_pairs * config.triplicate_depths[0]))
    base.issues.append("triplicate")
    for rep, mult in enumerate(config.triplicate_depths[1:], 1):
        name = f"{cohort[trip].sequencing_id}-{config.replicate_batch}-{rep}"
        libraries.append(
            Library(
                name, trip, trip, config.replicate_batch, int(round(config.read_pairs * mult)), cohort[trip].sex, ["triplicate"]
            )
        )
    # MAGE §4: the triplicate individual's original library holds the partner's RNA and vice versa.
    base.true, libraries[swap].true = swap, trip
    base.issues.append("swap_exchange")
    libraries[swap].issues.append("swap_exchange")
    for lib in libraries:
        lib.strandedness = "unstranded" if lib.batch == config.unstranded_batch else "auto"
    libraries.sort(key=lambda lib: lib.library)
    return libraries


def _gzip(path: Path, data: bytes, level: int = 9) -> None:
    path.write_bytes(gzip.compress(data, compresslevel=level, mtime=0))


def _tsv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, sep="\t", index=False, float_format="%.6g", lineterminator="\n")


def write_reference(out: Path, genome, genes, par_end: int) -> None:
    ref = out / "reference"
    ref.mkdir(parents=True)
    (ref / "genome.fa").write_text(fasta_text(list(genome.items())))
    (ref / "genome.fa.fai").write_text(fai_text(genome))
    (ref / "par.bed").write_text(f"chrX\t0\t{par_end}\tPAR1\n")
    header = ["##description: simulated test world for the mage pipeline (bin/simulate_world.py)", "##format: gtf"]
    (ref / "genes.gtf").write_text("\n".join(header + gtf_lines(genes)) + "\n")
    records = [(gencode_header(g, tx), transcript_codes(genome, g, tx)) for g in genes for tx in g.transcripts]
    (ref / "transcripts.fa").write_text(fasta_text(records))


def split_by_chromosome(vcf: Path, out: Path) -> None:
    """One bgzipped, indexed VCF per chromosome with variants, as the 1000 Genomes panel is released (tests the
    --vcf list input)."""
    out.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(["tabix", "--list-chroms", str(vcf)], check=True, capture_output=True, text=True)
    for chrom in listed.stdout.split():
        dest = out / f"genotypes.{chrom}.vcf.gz"
        command = ["bcftools", "view", "--no-version", "--regions", chrom, "--output-type", "z", "--output", str(dest)]
        subprocess.run([*command, str(vcf)], check=True)
        tabix(dest, preset="vcf")


def write_genotypes(out: Path, genome, variants, haps, cohort, seed: int) -> None:
    geno = out / "genotypes"
    geno.mkdir(parents=True)
    plain = geno / "genotypes.vcf"
    plain.write_text(vcf_text(genome, variants, haps, cohort, seed))
    bgzip(plain, geno / "genotypes.vcf.gz")
    plain.unlink()
    tabix(geno / "genotypes.vcf.gz", preset="vcf")
    split_by_chromosome(geno / "genotypes.vcf.gz", geno / "by_chromosome")
    table = pd.DataFrame(
        [(i.individual, i.population, i.continental_group, i.sex) for i in cohort],
        columns=["individual", "population", "continental_group", "sex"],
    )
    _tsv(table.sort_values("individual"), geno / "individuals.tsv")


@dataclass
class ExpressionModel:
    """Non-genetic effects shared across libraries: batch shifts, hidden-factor loadings, individual noise."""

    batch_effect: dict
    loadings: np.ndarray  # factors x genes
    individual_noise: np.ndarray  # individuals x genes
    group_shift: dict  # continental group -> per-gene log2 shift

    @classmethod
    def draw(cls, rng, config: WorldConfig, n_genes: int, libraries, n_individuals: int, effects: Effects):
        batch_effect = {b: rng.normal(0, config.batch_sd_log2, size=n_genes) for b in sorted({lib.batch for lib in libraries})}
        loadings = np.array([rng.normal(0, sd, size=n_genes) for sd in config.factor_sd_log2])
        noise = rng.normal(0, config.bio_sd_log2, size=(n_individuals, n_genes))
        shift = {grp: np.zeros(n_genes) for _, grp in config.populations}
        for g, (grp, value) in effects.population_shifts.items():
            shift[grp][g] = value
        return cls(batch_effect, loadings, noise, shift)

    def log2_abundance(self, rng, config, effects: Effects, lib: Library, group: str) -> tuple[np.ndarray, np.ndarray]:
        """This library's hidden-factor values and per-gene log2 abundance (before genetic effects)."""
        factor = rng.normal(0, 1, size=len(self.loadings))
        technical = rng.normal(0, config.tech_sd_log2, size=len(effects.baseline_log2))
        value = effects.baseline_log2 + self.group_shift[group] + self.batch_effect[lib.batch] + factor @ self.loadings
        return factor, value + self.individual_noise[lib.true] + technical


def library_reads(
    rng, config, lib: Library, counts: np.ndarray, hap_seqs: np.ndarray, transcriptome
) -> tuple[np.ndarray, np.ndarray]:
    """R1/R2 codes for one library: transcript fragments plus unmappable random pairs, shuffled, with errors."""
    hap, tx, frag, start = draw_fragments(rng, counts, transcriptome.lengths, config)
    r1, r2 = reads_from_fragments(rng, hap_seqs, transcriptome.offsets, hap, tx, frag, start, config)
    noise = rng.integers(0, 4, size=(2, lib.unmappable_pairs, config.read_length), dtype=np.uint8)
    r1, r2 = np.concatenate([r1, noise[0]]), np.concatenate([r2, noise[1]])
    order = rng.permutation(len(r1))
    return add_errors(rng, r1[order], config.error_rate), add_errors(rng, r2[order], config.error_rate)


def simulate_libraries(rng, config, fastq_dir: Path, genome, genes, variants, haps, cohort, effects, libraries, level: int = 9):
    """Write every library's FASTQs; return the transcriptome, read pairs per transcript and library, hidden factors."""
    transcriptome = build_transcriptome(genome, genes, variants)
    model = ExpressionModel.draw(rng, config, len(genes), libraries, len(cohort), effects)
    quality = config.quality_char * config.read_length
    counts_table, factors, hap_cache, jobs = {}, [], {}, []
    # zlib releases the GIL: FASTQs are compressed on worker threads while the next library is simulated.
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for lib in libraries:
            ind = cohort[lib.true]
            factor, log2_abundance = model.log2_abundance(rng, config, effects, lib, ind.continental_group)
            factors.append((lib.library, lib.batch, *factor))
            shares = read_shares(genes, log2_abundance, lib.true, ind.sex == "male", haps, effects, transcriptome, config)
            lib.unmappable_pairs = int(rng.binomial(lib.read_pairs, config.noise_fraction))
            counts = rng.multinomial(lib.read_pairs - lib.unmappable_pairs, shares.ravel()).reshape(shares.shape)
            counts_table[lib.library] = counts.sum(axis=0)
            if lib.true not in hap_cache:
                hap_cache[lib.true] = np.stack([transcriptome.haplotype(haps[:, lib.true, h]) for h in (0, 1)])
            r1, r2 = library_reads(rng, config, lib, counts, hap_cache[lib.true], transcriptome)
            for mate, reads in ((1, r1), (2, r2)):
                path = fastq_dir / f"{lib.library}_R{mate}.fastq.gz"
                jobs.append(pool.submit(_gzip, path, fastq_records(lib.library, mate, reads, quality), level))
        for job in jobs:
            job.result()
    return transcriptome, counts_table, factors


def write_samplesheet(out: Path, libraries: list[Library], cohort) -> None:
    rows = []
    for lib in libraries:
        ind = cohort[lib.labelled]
        rows.append(
            {
                "sample": lib.library,
                "individual": ind.individual,
                "population": ind.population,
                "continental_group": ind.continental_group,
                "sex": lib.labelled_sex,
                "batch": lib.batch,
                "fastq_1": f"fastq/{lib.library}_R1.fastq.gz",
                "fastq_2": f"fastq/{lib.library}_R2.fastq.gz",
                "run_accession": "",
                "strandedness": lib.strandedness,
            }
        )
    pd.DataFrame(rows).to_csv(out / "samplesheet.csv", index=False, lineterminator="\n")


def write_truth(
    out: Path, config, genes, variants, haps, expected_af, cohort, effects, libraries, transcriptome, counts, factors
):
    truth = out / "truth"
    truth.mkdir(parents=True)
    ids = variants.ids
    freq = alt_frequency(haps, ploidy(variants, cohort))

    def gene_cols(g: int) -> dict:
        return {"gene_id": genes[g].gene_id, "gene_name": genes[g].name, "chrom": genes[g].chrom}

    def variant_cols(v: int) -> dict:
        return {"variant_id": ids[v], "pos": int(variants.pos[v]) + 1, "alt_frequency": freq[v]}

    libs = pd.DataFrame(
        [
            {
                "library": lib.library,
                "labelled_individual": cohort[lib.labelled].individual,
                "true_individual": cohort[lib.true].individual,
                "labelled_sex": lib.labelled_sex,
                "true_sex": cohort[lib.true].sex,
                "batch": lib.batch,
                "read_pairs": lib.read_pairs,
                "unmappable_pairs": lib.unmappable_pairs,
                "planted_issue": ";".join(sorted(lib.issues)) or "none",
            }
            for lib in libraries
        ]
    )
    _tsv(libs, truth / "libraries.tsv")

    sources = {}
    for lib in libraries:
        sources.setdefault(lib.true, []).append(lib.library)
    inds = pd.DataFrame(
        [
            {
                "individual": ind.individual,
                "sequencing_id": ind.sequencing_id,
                "population": ind.population,
                "continental_group": ind.continental_group,
                "sex": ind.sex,
                "true_libraries": ",".join(sorted(sources.get(i, []))),
            }
            for i, ind in enumerate(cohort)
        ]
    )
    _tsv(inds.sort_values("individual"), truth / "individuals.tsv")

    eqtl_rows = []
    for g, entries in sorted(effects.eqtls.items()):
        for v, log2_afc in entries:
            row = gene_cols(g) | variant_cols(v)
            eqtl_rows.append(
                row | {"log2_afc": log2_afc, "strength": effects.eqtl_strength[g], "causal_variants_in_gene": len(entries)}
            )
    eqtl = pd.DataFrame(eqtl_rows)
    eqtl = eqtl[
        ["gene_id", "gene_name", "variant_id", "chrom", "pos", "log2_afc", "strength", "alt_frequency", "causal_variants_in_gene"]
    ]
    _tsv(eqtl, truth / "eqtl.tsv")

    sqtl_rows = []
    for g, (v, effect) in sorted(effects.sqtls.items()):
        gene = genes[g]
        row = gene_cols(g) | variant_cols(v)
        sqtl_rows.append(
            row
            | {
                "transcript_id": gene.transcripts[1].transcript_id,
                "event": gene.alt_event,
                "baseline_fraction": effects.baseline_fraction[g],
                "effect": effect,
            }
        )
    sqtl = pd.DataFrame(sqtl_rows)[
        [
            "gene_id",
            "gene_name",
            "variant_id",
            "chrom",
            "pos",
            "transcript_id",
            "event",
            "baseline_fraction",
            "effect",
            "alt_frequency",
        ]
    ]
    _tsv(sqtl, truth / "sqtl.tsv")

    sex_rows = [
        gene_cols(g) | {"expressed_in": "female" if gene.gene_class == "XIST" else "male"}
        for g, gene in enumerate(genes)
        if gene.gene_class in ("XIST", "chrY")
    ]
    _tsv(pd.DataFrame(sex_rows), truth / "sex_genes.tsv")

    shifts = [
        gene_cols(g) | {"continental_group": grp, "log2_shift": value}
        for g, (grp, value) in sorted(effects.population_shifts.items())
    ]
    _tsv(
        pd.DataFrame(shifts, columns=["gene_id", "gene_name", "chrom", "continental_group", "log2_shift"]),
        truth / "population_shifts.tsv",
    )

    genetic = set(effects.eqtls) | set(effects.sqtls)
    nulls = [
        gene_cols(g) | {"population_shift": g in effects.population_shifts}
        for g, gene in enumerate(genes)
        if effects.expressed[g] and gene.gene_class in ("autosomal", "chrX", "PAR") and g not in genetic
    ]
    _tsv(pd.DataFrame(nulls), truth / "null_genes.tsv")

    gene_table = pd.DataFrame(
        [
            gene_cols(g)
            | {
                "start": gene.start + 1,
                "end": gene.end,
                "strand": gene.strand,
                "gene_class": gene.gene_class,
                "gene_type": gene.gene_type,
                "n_transcripts": len(gene.transcripts),
                "alt_event": gene.alt_event or "none",
                "baseline_log2": effects.baseline_log2[g],
                "expressed": bool(effects.expressed[g]),
            }
            for g, gene in enumerate(genes)
        ]
    )
    _tsv(gene_table, truth / "genes.tsv")

    pops = [p for p, _ in config.populations]
    af = pd.DataFrame({"variant_id": ids, "chrom": variants.chrom, "pos": variants.pos + 1, "exonic": variants.exonic})
    for k, pop in enumerate(pops):
        af[pop] = expected_af[:, k]
    _tsv(af, truth / "population_allele_frequencies.tsv")

    tx_ids = [tx.transcript_id for gene in genes for tx in gene.transcripts]
    tx_counts = pd.DataFrame(counts, index=tx_ids)[[lib.library for lib in libraries]]
    tx_counts.insert(0, "gene_id", [genes[g].gene_id for g in transcriptome.gene_of_tx])
    _tsv(tx_counts.reset_index(names="transcript_id"), truth / "transcript_read_pairs.tsv")
    gene_counts = tx_counts.groupby("gene_id", sort=False).sum()
    _tsv(gene_counts.reset_index(), truth / "gene_read_pairs.tsv")

    names = [f"factor{k + 1}" for k in range(len(config.factor_sd_log2))]
    _tsv(pd.DataFrame(factors, columns=["library", "batch", *names]), truth / "hidden_factors.tsv")

    params = dataclasses.asdict(config) | {"generator": f"simulate_world.py (magelib {__version__})"}
    (truth / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")


def simulate_world(config: WorldConfig, out: Path, fastq_level: int = 9) -> None:
    """Generate the world into a temporary sibling of ``out`` and move it into place when complete.

    ``fastq_level`` (gzip level of the FASTQs) changes file bytes, never content; it is not a simulation parameter.
    """
    check_config(config)
    if not 1 <= fastq_level <= 9:
        raise InputError(f"--fastq-compression {fastq_level}: must be between 1 and 9")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "truth" / "params.json").is_file():
        raise InputError(f"{out}: exists, is not empty and is not a simulated world; refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        _generate(config, tmp, fastq_level)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _generate(config: WorldConfig, out: Path, fastq_level: int) -> None:
    rng = np.random.default_rng(config.seed)
    populations = [tuple(p) for p in config.populations]
    genome, genes, par_end = build_reference(rng, config.autosomal_genes, config.chrx_genes, config.alt_splicing_fraction)
    write_reference(out, genome, genes, par_end)
    cohort = make_cohort(rng, config.individuals, populations)
    blocked = splice_proximal_mask(genome, genes)
    variants = choose_positions(rng, genome, genes, blocked, config.variant_spacing, config.exonic_snps_per_gene, par_end)
    haps, expected_af = simulate_genotypes(rng, genome, variants, cohort, populations, config)
    write_genotypes(out, genome, variants, haps, cohort, config.seed)
    effects = plant_effects(rng, config, genes, variants, haps, cohort)
    libraries = plan_libraries(rng, config, cohort)
    fastq_dir = out / "fastq"
    fastq_dir.mkdir()
    transcriptome, counts, factors = simulate_libraries(
        rng, config, fastq_dir, genome, genes, variants, haps, cohort, effects, libraries, fastq_level
    )
    write_samplesheet(out, libraries, cohort)
    write_truth(out, config, genes, variants, haps, expected_af, cohort, effects, libraries, transcriptome, counts, factors)
