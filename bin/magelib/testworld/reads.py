"""Expression model and paired-end reads for the simulated test world.

Per library and gene, log2 abundance = baseline + population shift + batch effect + hidden factors
+ individual (biological) noise + library (technical) noise. Each haplotype contributes 2^(sum of log2 aFC x ALT)
/ 2 of it (the aFC model of MAGE's aFC-n step), split over isoforms by a haplotype-specific isoform fraction
(planted sQTLs shift its logit per ALT allele). Reads are drawn in proportion to abundance x effective length and
carry the alleles of the haplotype they come from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .genome import BASES, COMPLEMENT, Gene, transcript_codes


@dataclass
class Library:
    library: str
    labelled: int  # index of the individual named in the samplesheet
    true: int  # index of the individual whose RNA is in the FASTQs
    batch: str
    read_pairs: int
    labelled_sex: str
    issues: list[str]
    strandedness: str = "auto"
    unmappable_pairs: int = 0  # random-sequence pairs among read_pairs


@dataclass
class Transcriptome:
    """All transcripts concatenated (codes) with offsets, and where each exonic variant falls on them."""

    gene_of_tx: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    codes: np.ndarray
    snp_pos: np.ndarray  # position in ``codes``
    snp_variant: np.ndarray  # variant index
    snp_alt: np.ndarray  # ALT base as read on the transcript

    def haplotype(self, alleles: np.ndarray) -> np.ndarray:
        """The transcriptome carrying one haplotype's alleles (``alleles``: 0/1 per variant)."""
        codes = self.codes.copy()
        carried = alleles[self.snp_variant] == 1
        codes[self.snp_pos[carried]] = self.snp_alt[carried]
        return codes


def build_transcriptome(genome, genes: list[Gene], variants) -> Transcriptome:
    """Concatenate transcripts in GTF order and map every variant inside an exon onto transcript coordinates."""
    gene_of_tx, seqs, snp_pos, snp_var, snp_alt = [], [], [], [], []
    offset = 0
    by_chrom = {c: np.flatnonzero(variants.chrom == c) for c in dict.fromkeys(variants.chrom)}
    for g, gene in enumerate(genes):
        idx = by_chrom.get(gene.chrom, np.zeros(0, dtype=int))
        for tx in gene.transcripts:
            gene_of_tx.append(g)
            seqs.append(transcript_codes(genome, gene, tx))
            before = 0
            for start, end in tx.exons:
                inside = idx[(variants.pos[idx] >= start) & (variants.pos[idx] < end)]
                local = before + variants.pos[inside] - start
                if gene.strand == "-":
                    local = tx.length - 1 - local
                snp_pos.append(offset + local)
                snp_var.append(inside)
                alt = variants.alt[inside]
                snp_alt.append(alt if gene.strand == "+" else COMPLEMENT[alt])
                before += end - start
            offset += tx.length
    lengths = np.array([len(s) for s in seqs])
    return Transcriptome(
        gene_of_tx=np.array(gene_of_tx),
        offsets=np.concatenate([[0], np.cumsum(lengths)[:-1]]),
        lengths=lengths,
        codes=np.concatenate(seqs),
        snp_pos=np.concatenate(snp_pos).astype(np.int64),
        snp_variant=np.concatenate(snp_var).astype(np.int64),
        snp_alt=np.concatenate(snp_alt).astype(np.uint8),
    )


def haplotype_weights(gene: Gene, g: int, ind: int, male: bool, haps, eqtls, haploid_gene: bool) -> np.ndarray:
    """Share of the gene's abundance on each haplotype: 2^(sum log2 aFC x allele) / 2 (aFC model).

    chrY genes: all on haplotype 1 in males, none in females. XIST: none in males. Male chrX outside the PAR:
    the single X carries the whole gene (so a hemizygous ALT equals an ALT homozygote, MAGE's 0/2 coding).
    """
    if gene.gene_class == "chrY":
        return np.array([1.0, 0.0]) if male else np.zeros(2)
    if gene.gene_class == "XIST" and male:
        return np.zeros(2)
    log2_hap = np.zeros(2)
    for variant, log2_afc in eqtls.get(g, []):
        log2_hap += log2_afc * haps[variant, ind]
    if haploid_gene and male:
        return np.array([2.0 ** log2_hap[0], 0.0])
    return 2.0**log2_hap / 2


def isoform_fractions(gene: Gene, g: int, ind: int, haps, baseline_fraction: dict, sqtls: dict) -> np.ndarray:
    """haplotype x transcript fractions; the second isoform's logit moves by ``effect`` per ALT allele."""
    n_tx = len(gene.transcripts)
    if n_tx == 1:
        return np.ones((2, 1))
    logit = np.full(2, np.log(baseline_fraction[g] / (1 - baseline_fraction[g])))
    if g in sqtls:
        variant, effect = sqtls[g]
        logit = logit + effect * haps[variant, ind]
    psi = 1 / (1 + np.exp(-logit))
    return np.stack([1 - psi, psi], axis=1)


def draw_fragments(rng, counts: np.ndarray, tx_lengths: np.ndarray, config) -> tuple[np.ndarray, ...]:
    """Per read pair: haplotype, transcript, fragment length, start on the transcript."""
    hap, tx = np.nonzero(counts)
    reps = counts[hap, tx]
    hap, tx = np.repeat(hap, reps), np.repeat(tx, reps)
    length = tx_lengths[tx]
    frag = np.rint(rng.normal(config.fragment_mean, config.fragment_sd, size=len(tx))).astype(np.int64)
    frag = np.clip(frag, config.read_length, length)
    start = (rng.random(len(tx)) * (length - frag + 1)).astype(np.int64)
    return hap, tx, frag, start


def reads_from_fragments(rng, hap_seqs, offsets, hap, tx, frag, start, config) -> tuple[np.ndarray, np.ndarray]:
    """R1/R2 codes (pairs x read length): inward, unstranded (either mate may come from the transcript strand)."""
    read_len = config.read_length
    steps = np.arange(read_len)
    left = offsets[tx] + start
    forward = hap_seqs[hap[:, None], left[:, None] + steps]
    right = left + frag - read_len
    reverse = COMPLEMENT[hap_seqs[hap[:, None], right[:, None] + steps][:, ::-1]]
    flip = rng.random(len(tx)) < 0.5
    r1 = np.where(flip[:, None], reverse, forward)
    r2 = np.where(flip[:, None], forward, reverse)
    return r1, r2


def add_errors(rng, reads: np.ndarray, rate: float) -> np.ndarray:
    """Substitute each base with probability ``rate`` by one of the three other bases."""
    hit = rng.random(reads.shape) < rate
    reads = reads.copy()
    reads[hit] = (reads[hit] + rng.integers(1, 4, size=int(hit.sum()))) % 4
    return reads


def fastq_records(library: str, mate: int, reads: np.ndarray, quality: str) -> bytes:
    """FASTQ text with Illumina-style names (the same read number in both mates)."""
    seqs = BASES[reads]
    lines = []
    for k, seq in enumerate(seqs, 1):
        lines.append(f"@{library}:{k} {mate}:N:0:1\n{seq.tobytes().decode()}\n+\n{quality}\n")
    return "".join(lines).encode()


def read_shares(genes, log2_abundance, ind, male, haps, effects, transcriptome: Transcriptome, config) -> np.ndarray:
    """haplotype x transcript probabilities that a read pair comes from there (abundance x effective length)."""
    eff_len = np.maximum(transcriptome.lengths - config.fragment_mean + 1, 20)
    shares = np.zeros((2, len(transcriptome.lengths)))
    for g, gene in enumerate(genes):
        tx = np.flatnonzero(transcriptome.gene_of_tx == g)
        per_hap = haplotype_weights(gene, g, ind, male, haps, effects.eqtls, effects.haploid_gene[g])
        fractions = isoform_fractions(gene, g, ind, haps, effects.baseline_fraction, effects.sqtls)
        shares[:, tx] = 2.0 ** log2_abundance[g] * per_hap[:, None] * fractions * eff_len[tx]
    return shares / shares.sum()
