"""Cohort and phased genotypes for the simulated test world.

Haplotypes are mosaics of a few founder haplotypes: a chromosome is cut into LD blocks, each haplotype copies one
founder per block (keeping the previous founder at a block boundary with probability 1 - switch_prob), and a
small per-allele mutation rate breaks perfect LD. Founders are drawn with population-specific weights, so allele
frequencies differ between populations (more between continental groups than within).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRANSITION = np.array([2, 3, 0, 1], dtype=np.uint8)  # A<->G, C<->T


@dataclass
class Individual:
    individual: str  # VCF sample name (1000 Genomes style)
    sequencing_id: str  # library ID stem (NA individuals are sequenced under their Coriell GM ID, as in MAGE)
    population: str
    continental_group: str
    sex: str  # male / female


@dataclass
class Variants:
    chrom: np.ndarray  # str
    pos: np.ndarray  # 0-based
    ref: np.ndarray  # codes 0..3
    alt: np.ndarray
    exonic: np.ndarray  # bool: placed in an exon of a gene on purpose
    haploid_region: np.ndarray  # bool: chrX outside the PAR (males carry one allele)

    @property
    def ids(self) -> list[str]:
        return [
            f"{c}_{p + 1}_{'ACGT'[r]}_{'ACGT'[a]}" for c, p, r, a in zip(self.chrom, self.pos, self.ref, self.alt, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.pos)


def make_cohort(rng: np.random.Generator, n: int, populations: list[tuple[str, str]]) -> list[Individual]:
    """Individuals spread evenly over populations, sexes balanced within each; IDs in random (not sorted) order."""
    numbers = rng.choice(np.arange(90001, 100000), size=n, replace=False)
    prefixes = rng.choice(["HG", "NA"], size=n)
    cohort = []
    for i, (number, prefix) in enumerate(zip(numbers, prefixes, strict=True)):
        population, group = populations[i % len(populations)]
        cohort.append(Individual(f"{prefix}{number}", f"{'GM' if prefix == 'NA' else 'HG'}{number}", population, group, ""))
    for population, _ in populations:
        members = [ind for ind in cohort if ind.population == population]
        first = "female" if rng.random() < 0.5 else "male"
        other = "male" if first == "female" else "female"
        for j, ind in enumerate(members):
            ind.sex = first if j % 2 == 0 else other
    return cohort


def population_weights(rng, populations: list[tuple[str, str]], n_founders: int, diverse_group: str) -> np.ndarray:
    """Founder weights per population: one Dirichlet draw per continental group, perturbed per population."""
    groups = sorted({g for _, g in populations})
    group_w = {g: rng.dirichlet(np.full(n_founders, 2.0 if g == diverse_group else 0.6)) for g in groups}
    weights = np.array([rng.dirichlet(40 * group_w[g] + 0.05) for _, g in populations])
    return weights


def choose_positions(rng, genome, genes, blocked, spacing: int, exonic_per_gene: int, par_end: int) -> Variants:
    """Background SNPs every ``spacing`` bp on average plus ``exonic_per_gene`` SNPs in each non-chrY gene's exons."""
    chroms, positions, exonic = [], [], []
    for chrom, codes in genome.items():
        if chrom == "chrY":
            continue
        allowed = np.flatnonzero(~blocked[chrom])
        background = rng.choice(allowed, size=len(codes) // spacing, replace=False)
        in_exons = []
        for gene in genes:
            if gene.chrom != chrom:
                continue
            exon_pos = np.concatenate([np.arange(s, e) for s, e in gene.transcripts[0].exons])
            exon_pos = exon_pos[~blocked[chrom][exon_pos]]
            in_exons.append(rng.choice(exon_pos, size=min(exonic_per_gene, len(exon_pos)), replace=False))
        in_exons = np.concatenate(in_exons) if in_exons else np.zeros(0, dtype=int)
        pos = np.union1d(background, in_exons)
        chroms.append(np.full(len(pos), chrom, dtype=object))
        positions.append(pos)
        exonic.append(np.isin(pos, in_exons))
    chrom = np.concatenate(chroms)
    pos = np.concatenate(positions).astype(np.int64)
    ref = np.array([genome[c][p] for c, p in zip(chrom, pos, strict=True)], dtype=np.uint8)
    transversion = (ref + rng.choice([1, 3], size=len(ref))) % 4
    alt = np.where(rng.random(len(ref)) < 2 / 3, TRANSITION[ref], transversion).astype(np.uint8)
    haploid = (chrom == "chrX") & (pos >= par_end)
    return Variants(chrom, pos, ref, alt, np.concatenate(exonic), haploid)


def founder_alleles(rng, n_founders: int, common: np.ndarray) -> np.ndarray:
    """founders x sites 0/1: each site carries ALT on m founders (common sites: 2..K-2; others 1/m-weighted 1..K-1)."""
    n = len(common)
    ks = np.arange(1, n_founders)
    m_rare = rng.choice(ks, size=n, p=(1 / ks) / (1 / ks).sum())
    m_common = rng.integers(2, n_founders - 1, size=n)
    m = np.where(common, m_common, m_rare)
    ranks = rng.random((n_founders, n)).argsort(axis=0).argsort(axis=0)
    return (ranks < m).astype(np.int8)


def simulate_chromosome(rng, pos, chrom_len, hap_pop, weights, founders, block_mean, switch_prob, mutation) -> np.ndarray:
    """haplotypes x sites 0/1 for one chromosome (Li-Stephens-like copying of founders per LD block)."""
    n_hap, k = len(hap_pop), founders.shape[0]
    cuts = np.cumsum(rng.exponential(block_mean, size=int(3 * chrom_len / block_mean) + 10))
    cuts = cuts[cuts < chrom_len]
    block = np.searchsorted(cuts, pos, side="right")
    n_blocks = len(cuts) + 1
    cdf = np.cumsum(weights[hap_pop], axis=1)  # haplotype x founder
    draw = (rng.random((n_hap, n_blocks))[:, :, None] > cdf[:, None, :]).sum(axis=2).clip(max=k - 1)
    switch = rng.random((n_hap, n_blocks)) < switch_prob
    switch[:, 0] = True
    copied = draw.copy()
    for b in range(1, n_blocks):
        copied[:, b] = np.where(switch[:, b], draw[:, b], copied[:, b - 1])
    haps = founders[copied[:, block], np.arange(len(pos))]
    return haps ^ (rng.random(haps.shape) < mutation).astype(np.int8)


def simulate_genotypes(rng, genome, variants: Variants, cohort, populations, config) -> tuple[np.ndarray, np.ndarray]:
    """Haplotypes (sites x individuals x 2, int8) and expected ALT frequency per population (sites x populations).

    Males carry one chrX allele outside the PAR: it is stored in both haplotype slots (written haploid).
    """
    weights = population_weights(rng, populations, config.n_founders, config.diverse_group)
    pop_names = [p for p, _ in populations]
    ind_pop = np.array([pop_names.index(ind.population) for ind in cohort])
    hap_pop = np.repeat(ind_pop, 2)
    n_ind = len(cohort)
    haps = np.zeros((len(variants), n_ind, 2), dtype=np.int8)
    expected = np.zeros((len(variants), len(populations)))
    common = variants.exonic | (rng.random(len(variants)) < config.common_fraction)
    for chrom in dict.fromkeys(variants.chrom):
        idx = np.flatnonzero(variants.chrom == chrom)
        founders = founder_alleles(rng, config.n_founders, common[idx])
        chrom_haps = simulate_chromosome(
            rng,
            variants.pos[idx],
            len(genome[chrom]),
            hap_pop,
            weights,
            founders,
            config.block_mean,
            config.switch_prob,
            config.mutation,
        )
        haps[idx] = chrom_haps.T.reshape(len(idx), n_ind, 2)
        p = weights @ founders
        expected[idx] = (p * (1 - config.mutation) + (1 - p) * config.mutation).T
    males = np.array([ind.sex == "male" for ind in cohort])
    haploid = np.ix_(np.flatnonzero(variants.haploid_region), np.flatnonzero(males))
    haps[:, :, 1][haploid] = haps[:, :, 0][haploid]
    return haps, expected


def ploidy(variants: Variants, cohort) -> np.ndarray:
    """sites x individuals: 1 for male chrX outside the PAR, else 2."""
    males = np.array([ind.sex == "male" for ind in cohort])
    return np.where(variants.haploid_region[:, None] & males[None, :], 1, 2)


def alt_frequency(haps: np.ndarray, ploid: np.ndarray) -> np.ndarray:
    """ALT allele frequency per site counting one allele for haploid calls."""
    count = haps[:, :, 0] + np.where(ploid == 2, haps[:, :, 1], 0)
    return count.sum(axis=1) / ploid.sum(axis=1)


def vcf_text(genome, variants: Variants, haps, cohort, seed: int) -> str:
    """VCFv4.2 with contig lengths, phased GT, INFO AC/AN; male chrX non-PAR calls haploid (as the NYGC chrX VCF)."""
    header = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        f"##source=mage simulate_world.py seed={seed}",
        "##reference=genome.fa",
        *[f"##contig=<ID={chrom},length={len(codes)}>" for chrom, codes in genome.items()],
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT allele count in called genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Number of alleles in called genotypes">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"] + [i.individual for i in cohort]),
    ]
    ploid = ploidy(variants, cohort)
    diploid_gt = np.array(["0|0", "0|1", "1|0", "1|1"], dtype=object)
    haploid_gt = np.array(["0", "1"], dtype=object)
    gts = np.where(ploid == 2, diploid_gt[haps[:, :, 0] * 2 + haps[:, :, 1]], haploid_gt[haps[:, :, 0]])
    ac = (haps[:, :, 0] + np.where(ploid == 2, haps[:, :, 1], 0)).sum(axis=1)
    an = ploid.sum(axis=1)
    lines = header
    for i, vid in enumerate(variants.ids):
        fixed = [variants.chrom[i], str(variants.pos[i] + 1), vid, "ACGT"[variants.ref[i]], "ACGT"[variants.alt[i]]]
        lines.append("\t".join(fixed + [".", "PASS", f"AC={ac[i]};AN={an[i]}", "GT"] + list(gts[i])))
    return "\n".join(lines) + "\n"
