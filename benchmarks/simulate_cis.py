#!/usr/bin/env python3
"""Simulate a MAGE-sized cis-QTL chunk: a phased VCF, a phenotype BED and FastQTL covariates (seeded, streamed).

Defaults mirror one MAGE chunk: 731 samples, 200 genes 100 kb apart on one contig so every +-1 Mb window holds
~7,000 variants (MAF >= 0.01), and 66 covariates. The VCF is written site-chunk by site-chunk through bgzip.

Genotype model (cheap, but with LD that decays with distance and a realistic allele-frequency spectrum): each
haplotype carries K latent Gaussian AR(1) processes along the contig; the correlation between neighbouring sites is
exp(-gap / ld_scale), reset at recombination hot spots. Each site reads one of the K processes and carries the
ALT allele where it falls below the quantile of its allele frequency; MAF is log-uniform on [0.01, 0.5] (the
1/x spectrum of neutral sites). Half the genes get one causal variant explaining 2-25 % of the variance; the
covariates explain another 30 %. The same seed gives byte-identical files.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bin"))

from magelib import cli  # noqa: E402
from magelib.io import tables, tools  # noqa: E402
from magelib.io.atomic import atomic_path  # noqa: E402

CONTIG = "chr1"
LATENT_PROCESSES = 4
LD_SCALE_BP = 30_000
SWITCH_PROB = 0.2
HOTSPOT_EVERY_BP = 60_000
MIN_MAF = 0.01
SITE_CHUNK = 2048


@dataclass
class SimSpec:
    n_samples: int = 731
    n_genes: int = 200
    cis_variants: int = 7000
    n_covariates: int = 66
    window: int = 1_000_000
    gene_spacing: int = 100_000
    seed: int = 1

    def tag(self) -> str:
        """A directory name that changes whenever the data would."""
        return f"mage_sim_n{self.n_samples}_g{self.n_genes}_v{self.cis_variants}_c{self.n_covariates}_s{self.seed}"


def gene_tss(spec: SimSpec) -> np.ndarray:
    first = spec.window + 100_000
    return first + spec.gene_spacing * np.arange(spec.n_genes)


def site_positions(spec: SimSpec, rng: np.random.Generator) -> np.ndarray:
    """Sorted distinct positions covering every gene window at the target density (+8 % for sites lost to MAF)."""
    tss = gene_tss(spec)
    start, end = tss[0] - spec.window, tss[-1] + spec.window
    density = 1.08 * spec.cis_variants / (2 * spec.window + 1)
    gaps = np.maximum(1, np.rint(rng.exponential(1 / density, size=int((end - start) * density * 1.02))).astype(np.int64))
    pos = start + np.cumsum(gaps)
    return pos[pos <= end]


def haplotype_chunks(spec: SimSpec, pos: np.ndarray, rng: np.random.Generator):
    """Yield (positions, alt-allele haplotypes sites x 2N uint8) chunk by chunk along the contig."""
    n_hap = 2 * spec.n_samples
    maf = MIN_MAF * (0.5 / MIN_MAF) ** rng.random(pos.size)
    alt_freq = np.where(rng.random(pos.size) < 0.5, maf, 1 - maf)
    threshold = ndtri(alt_freq)
    # neighbouring sites read the same process in runs (mean length 1 / SWITCH_PROB), so LD comes in blocks
    switch = rng.random(pos.size) < SWITCH_PROB
    process = np.cumsum(switch * rng.integers(1, LATENT_PROCESSES, size=pos.size)) % LATENT_PROCESSES
    gap = np.diff(pos, prepend=pos[0])
    hotspot = np.diff(pos // HOTSPOT_EVERY_BP, prepend=pos[0] // HOTSPOT_EVERY_BP) > 0
    rho = np.where(hotspot, 0.0, np.exp(-gap / LD_SCALE_BP))
    innovation = np.sqrt(1 - rho**2)
    latent = rng.standard_normal((LATENT_PROCESSES, n_hap))
    for lo in range(0, pos.size, SITE_CHUNK):
        hi = min(lo + SITE_CHUNK, pos.size)
        haps = np.empty((hi - lo, n_hap), dtype=np.uint8)
        for j in range(lo, hi):
            latent *= rho[j]
            latent += innovation[j] * rng.standard_normal(latent.shape)
            haps[j - lo] = latent[process[j]] < threshold[j]
        yield pos[lo:hi], haps


def vcf_header(samples: list[str], contig_length: int) -> bytes:
    lines = [
        "##fileformat=VCFv4.2",
        "##source=benchmarks/simulate_cis.py",
        f"##contig=<ID={CONTIG},length={contig_length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    return ("\n".join(lines) + "\n").encode()


def vcf_rows(pos: np.ndarray, ref: np.ndarray, alt: np.ndarray, haps: np.ndarray) -> bytes:
    """Phased GT rows, built as one byte array (4 bytes per genotype: 'a|b' and a tab or newline)."""
    n_sites, n_hap = haps.shape
    cells = np.empty((n_sites, n_hap // 2, 4), dtype=np.uint8)
    cells[:, :, 0] = haps[:, 0::2] + ord("0")
    cells[:, :, 1] = ord("|")
    cells[:, :, 2] = haps[:, 1::2] + ord("0")
    cells[:, :, 3] = ord("\t")
    cells[:, -1, 3] = ord("\n")
    out = []
    for i in range(n_sites):
        vid = f"{CONTIG}_{pos[i]}_{ref[i]}_{alt[i]}"
        out.append(f"{CONTIG}\t{pos[i]}\t{vid}\t{ref[i]}\t{alt[i]}\t.\tPASS\t.\tGT\t".encode())
        out.append(cells[i].tobytes())
    return b"".join(out)


def write_genotypes(spec: SimSpec, vcf: Path, samples: list[str], rng: np.random.Generator) -> tuple:
    """Stream the VCF through bgzip; return the kept positions, their ALT dosages (sites x samples int8) and IDs."""
    pos = site_positions(spec, rng)
    bases = np.array(list("ACGT"))
    ref_ix = rng.integers(4, size=pos.size)
    alt_ix = (ref_ix + rng.integers(1, 4, size=pos.size)) % 4
    kept_pos, kept_dosage, kept_ids = [], [], []
    with atomic_path(vcf) as tmp, open(tmp, "wb") as handle:
        bgzip = subprocess.Popen(["bgzip", "-c"], stdin=subprocess.PIPE, stdout=handle)
        bgzip.stdin.write(vcf_header(samples, int(pos[-1]) + spec.window))
        offset = 0
        for chunk_pos, haps in haplotype_chunks(spec, pos, rng):
            ix = slice(offset, offset + chunk_pos.size)
            offset += chunk_pos.size
            freq = haps.mean(axis=1)
            keep = np.minimum(freq, 1 - freq) >= MIN_MAF
            ref, alt = bases[ref_ix[ix]][keep], bases[alt_ix[ix]][keep]
            bgzip.stdin.write(vcf_rows(chunk_pos[keep], ref, alt, haps[keep]))
            kept_pos.append(chunk_pos[keep])
            kept_ids += [f"{CONTIG}_{p}_{r}_{a}" for p, r, a in zip(chunk_pos[keep], ref, alt, strict=True)]
            kept_dosage.append((haps[keep, 0::2] + haps[keep, 1::2]).astype(np.int8))
        bgzip.stdin.close()
        if bgzip.wait() != 0:
            raise cli.InputError(f"{vcf}: bgzip failed")
    tools.tabix(vcf, preset="vcf")
    return np.concatenate(kept_pos), np.concatenate(kept_dosage), kept_ids


def standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)


def simulate_covariates(spec: SimSpec, rng: np.random.Generator) -> pd.DataFrame:
    """5 genotype-PC-like, (n - 6) expression-factor-like (Gaussian) covariates and a binary sex."""
    n_geno = 5
    names = [f"geno_PC{i + 1}" for i in range(n_geno)]
    names += [f"expr_PC{i + 1}" for i in range(spec.n_covariates - n_geno - 1)] + ["sex"]
    values = rng.standard_normal((spec.n_covariates, spec.n_samples))
    values[-1] = rng.random(spec.n_samples) < 0.5
    return pd.DataFrame(values, index=names)


def simulate_phenotypes(spec: SimSpec, pos: np.ndarray, dosage: np.ndarray, covariates: pd.DataFrame, rng) -> tuple:
    """Covariates explain 30 % of each gene's variance; every other gene has one causal cis variant (h2 2-25 %).

    Returns (phenotypes genes x samples, index of each gene's causal variant, its h2; 0 for null genes).
    """
    tss = gene_tss(spec)
    cov_part = rng.standard_normal((spec.n_genes, spec.n_covariates)) @ standardise(covariates.to_numpy())
    values = np.sqrt(0.3) * standardise(cov_part)
    h2 = np.where(np.arange(spec.n_genes) % 2 == 0, rng.uniform(0.02, 0.25, spec.n_genes), 0.0)
    causal = np.empty(spec.n_genes, dtype=np.int64)
    for g in range(spec.n_genes):
        lo, hi = np.searchsorted(pos, [tss[g] - spec.window, tss[g] + spec.window + 1])
        causal[g] = rng.integers(lo, hi)
        values[g] += np.sqrt(h2[g]) * standardise(dosage[causal[g]].astype(float))
        values[g] += np.sqrt(0.7 - h2[g]) * rng.standard_normal(spec.n_samples)
    return pd.DataFrame(values, index=[f"SIMG{g + 1:05d}" for g in range(spec.n_genes)]), causal, h2


def write_bed(table: pd.DataFrame, path: Path) -> None:
    """Write a sorted BED table (first column '#chr') bgzipped and tabix-indexed.

    Used for the 4-column BED and the 6-column QTLtools variant alike (magelib.io.tables.write_phenotype_bed writes only
    the former and, as of this writing, gzips the text before bgzip under pandas 3: see benchmarks/README.md).
    """
    with atomic_path(path) as tmp:
        plain = tmp.with_name(tmp.name + ".txt")
        table.to_csv(plain, sep="\t", index=False, float_format="%.10g")
        tools.bgzip(plain, tmp)
        plain.unlink()
    tools.tabix(path, preset="bed")


def simulate(spec: SimSpec, outdir: Path) -> dict[str, Path]:
    """Write genotypes.vcf.gz(+tbi), phenotypes.bed.gz(+tbi), covariates.txt and truth.tsv (planted effects)."""
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    samples = [f"SIM{i + 1:04d}" for i in range(spec.n_samples)]
    names = {"vcf": "genotypes.vcf.gz", "bed": "phenotypes.bed.gz", "covariates": "covariates.txt", "truth": "truth.tsv"}
    paths = {key: outdir / name for key, name in names.items()}
    pos, dosage, ids = write_genotypes(spec, paths["vcf"], samples, rng)
    covariates = simulate_covariates(spec, rng)
    covariates.columns = samples
    phenotypes, causal, h2 = simulate_phenotypes(spec, pos, dosage, covariates, rng)
    phenotypes.columns = samples
    tss = gene_tss(spec)
    positions = pd.DataFrame({"#chr": CONTIG, "start": tss - 1, "end": tss, "phenotype_id": phenotypes.index})
    write_bed(pd.concat([positions, phenotypes.reset_index(drop=True)], axis=1), paths["bed"])
    tables.write_covariates(covariates, paths["covariates"])
    causal_ids = [ids[i] if h > 0 else "" for i, h in zip(causal, h2, strict=True)]
    truth = pd.DataFrame({"phenotype_id": phenotypes.index, "causal_variant": causal_ids, "h2": h2})
    with atomic_path(paths["truth"]) as tmp:
        truth.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return paths


def main(argv=None) -> None:
    p = cli.parser(__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="output directory")
    for field, default in vars(SimSpec()).items():
        p.add_argument(f"--{field.replace('_', '-')}", type=int, default=default)
    args = vars(p.parse_args(argv))
    outdir = args.pop("out")
    for name, path in simulate(SimSpec(**{k: v for k, v in args.items() if k in vars(SimSpec())}), outdir).items():
        print(f"{name}\t{path}")


if __name__ == "__main__":
    sys.exit(cli.run(main))
