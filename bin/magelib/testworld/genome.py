"""Synthetic genome and GENCODE-style annotation for the simulated test world.

Genes are built in transcript orientation (exons and introns from the TSS), given GT..AG introns, and written
onto the genome reverse-complemented when on the minus strand. Coordinates in ``Gene``/``Transcript`` are
0-based half-open genomic intervals; the GTF writer converts to 1-based inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
COMPLEMENT = np.array([3, 2, 1, 0], dtype=np.uint8)  # A<->T, C<->G on codes 0..3
CODE = {b: i for i, b in enumerate("ACGT")}
PAR_GENE_NAMES = ("PLCXD1", "SLC25A6", "CD99")
CHRY_GENE_NAMES = ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY")
SPLICE_MARGIN = 3  # variants are kept this far from every exon boundary so splice motifs stay intact


@dataclass
class Transcript:
    transcript_id: str
    name: str
    exons: list[tuple[int, int]]  # genomic, 0-based half-open, ascending

    @property
    def length(self) -> int:
        return sum(end - start for start, end in self.exons)


@dataclass
class Gene:
    gene_id: str
    name: str
    chrom: str
    strand: str
    start: int  # 0-based
    end: int  # half-open
    gene_type: str
    gene_class: str  # autosomal, chrX, PAR, XIST, chrY
    alt_event: str = ""  # "", exon_skipping, alt_3prime, alt_5prime
    transcripts: list[Transcript] = field(default_factory=list)


@dataclass
class GeneSpec:
    """What to build: a name, a class and its chromosome, before coordinates are known."""

    name: str
    gene_class: str
    chrom: str
    gene_type: str = "protein_coding"
    strand: str | None = None
    n_exons: int | None = None


def revcomp(codes: np.ndarray) -> np.ndarray:
    return COMPLEMENT[codes[::-1]]


def random_codes(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    """Random bases with the given GC fraction."""
    at, cg = (1 - gc) / 2, gc / 2
    return rng.choice(4, size=n, p=[at, cg, cg, at]).astype(np.uint8)


def _set(seq: np.ndarray, pos: int, motif: str) -> None:
    seq[pos : pos + len(motif)] = [CODE[b] for b in motif]


def _exon_structure(rng: np.random.Generator, n_exons: int) -> tuple[list[int], list[int]]:
    """Exon and intron lengths in transcript order (first and last exons carry the UTRs, so they are longer)."""
    exons = [int(rng.integers(60, 220)) for _ in range(n_exons)]
    exons[0] = int(rng.integers(150, 400))
    exons[-1] = int(rng.integers(250, 600))
    introns = [int(np.exp(rng.uniform(np.log(80), np.log(1500)))) for _ in range(n_exons - 1)]
    return exons, introns


def _alt_isoform(rng, exon_tx: list[tuple[int, int]], event: str, seq: np.ndarray) -> list[tuple[int, int]] | None:
    """The second isoform for an alternative-splicing event, in pre-mRNA coordinates; motifs written into ``seq``."""
    n = len(exon_tx)
    if event == "exon_skipping":
        k = int(rng.integers(1, n - 1))
        return exon_tx[:k] + exon_tx[k + 1 :]
    if event == "alt_3prime":  # downstream exon starts later: a second acceptor AG inside it
        candidates = [k for k in range(1, n) if exon_tx[k][1] - exon_tx[k][0] >= 110]
        if not candidates:
            return None
        k = candidates[int(rng.integers(len(candidates)))]
        shift = int(rng.integers(30, 70))
        start, end = exon_tx[k]
        _set(seq, start + shift - 2, "AG")
        return exon_tx[:k] + [(start + shift, end)] + exon_tx[k + 1 :]
    if event == "alt_5prime":  # upstream exon ends earlier: a second donor GT inside it
        candidates = [k for k in range(n - 1) if exon_tx[k][1] - exon_tx[k][0] >= 110]
        if not candidates:
            return None
        k = candidates[int(rng.integers(len(candidates)))]
        shift = int(rng.integers(30, 70))
        start, end = exon_tx[k]
        _set(seq, end - shift, "GT")
        return exon_tx[:k] + [(start, end - shift)] + exon_tx[k + 1 :]
    raise ValueError(event)


def build_gene(rng: np.random.Generator, spec: GeneSpec, p_alt: float) -> tuple[np.ndarray, str, list[list[tuple[int, int]]]]:
    """Pre-mRNA sequence (transcript orientation), the alternative event and each isoform's exons (pre-mRNA coords)."""
    n_exons = spec.n_exons or int(rng.integers(2, 9))
    exons, introns = _exon_structure(rng, n_exons)
    exon_tx, cursor = [], 0
    for i, length in enumerate(exons):
        exon_tx.append((cursor, cursor + length))
        cursor += length + (introns[i] if i < len(introns) else 0)
    seq = random_codes(rng, cursor, gc=0.40)
    for start, end in exon_tx:
        seq[start:end] = random_codes(rng, end - start, gc=0.50)
    for (_, end), (next_start, _) in zip(exon_tx[:-1], exon_tx[1:], strict=True):
        _set(seq, end, "GT")
        _set(seq, next_start - 2, "AG")
    isoforms, event = [exon_tx], ""
    if spec.gene_class in ("autosomal", "chrX") and rng.random() < p_alt:
        events = ["exon_skipping", "alt_3prime", "alt_5prime"] if n_exons >= 3 else ["alt_3prime", "alt_5prime"]
        event = events[int(rng.integers(len(events)))]
        alt = _alt_isoform(rng, exon_tx, event, seq)
        if alt is None:
            event = ""
        else:
            isoforms.append(alt)
    return seq, event, isoforms


def _to_genome(exons_tx: list[tuple[int, int]], gstart: int, length: int, strand: str) -> list[tuple[int, int]]:
    if strand == "+":
        return [(gstart + s, gstart + e) for s, e in exons_tx]
    return sorted((gstart + length - e, gstart + length - s) for s, e in exons_tx)


def layout_chromosome(rng, chrom: str, specs: list[GeneSpec], p_alt: float, par_end_after: int = 0):
    """Place genes along one chromosome; return (sequence codes, genes without IDs, PAR end or 0).

    With ``par_end_after`` > 0, the PAR is the region up to the end of the first ``par_end_after`` genes plus a gap.
    """
    pieces = [random_codes(rng, int(rng.integers(3000, 6000)), gc=0.41)]
    cursor, genes, par_end = len(pieces[0]), [], 0
    for i, spec in enumerate(specs):
        seq, event, isoforms = build_gene(rng, spec, p_alt)
        strand = spec.strand or ("+" if rng.random() < 0.5 else "-")
        genes.append(
            Gene(
                gene_id="",
                name=spec.name,
                chrom=chrom,
                strand=strand,
                start=cursor,
                end=cursor + len(seq),
                gene_type=spec.gene_type,
                gene_class=spec.gene_class,
                alt_event=event,
                transcripts=[Transcript("", "", _to_genome(iso, cursor, len(seq), strand)) for iso in isoforms],
            )
        )
        pieces.append(seq if strand == "+" else revcomp(seq))
        gap = random_codes(rng, int(rng.integers(1500, 4000)), gc=0.41)
        pieces.append(gap)
        cursor += len(seq) + len(gap)
        if par_end_after and i == par_end_after - 1:
            par_end = cursor - len(gap) // 2
    pieces.append(random_codes(rng, int(rng.integers(3000, 6000)), gc=0.41))
    return np.concatenate(pieces), genes, par_end


def gene_specs(n_autosomal: int, n_chrx: int) -> dict[str, list[GeneSpec]]:
    """Gene plan per chromosome: regular genes split over chr1/chr2, PAR genes then XIST on chrX, chrY genes."""
    n_chr1 = (n_autosomal + 1) // 2
    names = iter(f"SIM{i:03d}" for i in range(1, n_autosomal + n_chrx + 1))
    plan = {
        "chr1": [GeneSpec(next(names), "autosomal", "chr1") for _ in range(n_chr1)],
        "chr2": [GeneSpec(next(names), "autosomal", "chr2") for _ in range(n_autosomal - n_chr1)],
    }
    chrx = [GeneSpec(name, "PAR", "chrX") for name in PAR_GENE_NAMES]
    regular_x = [GeneSpec(next(names), "chrX", "chrX") for _ in range(n_chrx)]
    xist = GeneSpec("XIST", "XIST", "chrX", gene_type="lncRNA", strand="-", n_exons=6)
    half = len(regular_x) // 2
    plan["chrX"] = chrx + regular_x[:half] + [xist] + regular_x[half:]
    plan["chrY"] = [GeneSpec(name, "chrY", "chrY") for name in CHRY_GENE_NAMES]
    return plan


def build_reference(rng: np.random.Generator, n_autosomal: int, n_chrx: int, p_alt: float):
    """Genome (chrom -> codes), genes in genome order with GENCODE-style IDs, and the chrX PAR end."""
    genome, genes, par_end = {}, [], 0
    for chrom, specs in gene_specs(n_autosomal, n_chrx).items():
        n_par = len(PAR_GENE_NAMES) if chrom == "chrX" else 0
        codes, chrom_genes, end = layout_chromosome(rng, chrom, specs, p_alt, par_end_after=n_par)
        genome[chrom] = codes
        genes.extend(chrom_genes)
        par_end = end or par_end
    n_tx = 0
    for i, gene in enumerate(genes, 1):
        gene.gene_id = f"SIMG{i:04d}.1"
        for j, tx in enumerate(gene.transcripts):
            n_tx += 1
            tx.transcript_id = f"SIMT{n_tx:04d}.1"
            tx.name = f"{gene.name}-{201 + j}"
    return genome, genes, par_end


def transcript_codes(genome: dict[str, np.ndarray], gene: Gene, tx: Transcript) -> np.ndarray:
    """Spliced transcript sequence (codes), reverse-complemented for minus-strand genes."""
    codes = np.concatenate([genome[gene.chrom][s:e] for s, e in tx.exons])
    return codes if gene.strand == "+" else revcomp(codes)


def splice_proximal_mask(genome: dict[str, np.ndarray], genes: list[Gene]) -> dict[str, np.ndarray]:
    """True at genomic positions within SPLICE_MARGIN of any exon boundary (variants are kept off them)."""
    mask = {chrom: np.zeros(len(codes), dtype=bool) for chrom, codes in genome.items()}
    for gene in genes:
        for tx in gene.transcripts:
            for start, end in tx.exons:
                for edge in (start, end):
                    mask[gene.chrom][max(edge - SPLICE_MARGIN, 0) : edge + SPLICE_MARGIN] = True
    return mask


def gtf_lines(genes: list[Gene]) -> list[str]:
    """GENCODE-style gene/transcript/exon records (1-based inclusive), exons numbered in transcript order."""
    lines = []
    n_exon = 0
    for gene in genes:
        common = f'gene_id "{gene.gene_id}"; gene_type "{gene.gene_type}"; gene_name "{gene.name}"; level 2;'
        lines.append(_gtf(gene.chrom, "gene", gene.start + 1, gene.end, gene.strand, common))
        for tx in gene.transcripts:
            tx_attrs = (
                f'gene_id "{gene.gene_id}"; transcript_id "{tx.transcript_id}"; gene_type "{gene.gene_type}"; '
                f'gene_name "{gene.name}"; transcript_type "{gene.gene_type}"; transcript_name "{tx.name}";'
            )
            lines.append(_gtf(gene.chrom, "transcript", tx.exons[0][0] + 1, tx.exons[-1][1], gene.strand, tx_attrs + " level 2;"))
            ordered = tx.exons if gene.strand == "+" else tx.exons[::-1]
            for number, (start, end) in enumerate(ordered, 1):
                n_exon += 1
                exon_attrs = tx_attrs + f' exon_number {number}; exon_id "SIME{n_exon:05d}.1"; level 2;'
                lines.append(_gtf(gene.chrom, "exon", start + 1, end, gene.strand, exon_attrs))
    return lines


def _gtf(chrom: str, feature: str, start: int, end: int, strand: str, attrs: str) -> str:
    return f"{chrom}\tSIMULATED\t{feature}\t{start}\t{end}\t.\t{strand}\t.\t{attrs}"


def fasta_text(records: list[tuple[str, np.ndarray]], width: int = 60) -> str:
    """FASTA with fixed-width lines (codes 0..3 -> ACGT)."""
    out = []
    for name, codes in records:
        seq = BASES[codes].tobytes().decode()
        out.append(f">{name}\n")
        out.extend(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return "".join(out)


def fai_text(genome: dict[str, np.ndarray], width: int = 60) -> str:
    """samtools faidx index for ``fasta_text(genome)`` (name, length, offset, bases per line, bytes per line)."""
    lines, offset = [], 0
    for chrom, codes in genome.items():
        offset += len(chrom) + 2
        n = len(codes)
        lines.append(f"{chrom}\t{n}\t{offset}\t{width}\t{width + 1}\n")
        offset += n + (n + width - 1) // width
    return "".join(lines)


def gencode_header(gene: Gene, tx: Transcript) -> str:
    """GENCODE transcripts.fa header: ID|gene|havana gene|havana tx|tx name|gene name|length|biotype|."""
    return f"{tx.transcript_id}|{gene.gene_id}|-|-|{tx.name}|{gene.name}|{tx.length}|{gene.gene_type}|"
