"""bin/simulate_world.py: determinism, file formats checked by independent readers, and truth checked against the data.

A tiny world (12 individuals, 12 autosomal genes) is generated once into a temporary directory; the committed
assets/test_world is checked cheaply (planted effects recovered from its FASTQs and VCF) and regenerated once from
its recorded parameters to prove nobody edited it by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simulate_world
from scipy import stats

from conftest import BIN, require_tool
from magelib.cli import run
from magelib.io import gtf

SCRIPT = BIN / "simulate_world.py"
TINY = ["--seed", "7", "--individuals", "12", "--genes", "12", "--chrx-genes", "2", "--read-pairs", "1500"]
COMP = str.maketrans("ACGT", "TGCA")


def simulate(out: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def file_hashes(root: Path, decompress: bool = False) -> dict[str, str]:
    """md5 of every file under root; with ``decompress``, of the uncompressed content of gzip/BGZF files."""
    hashes = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if decompress and data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        hashes[str(path.relative_to(root))] = hashlib.md5(data).hexdigest()
    return hashes


def revcomp(seq: str) -> str:
    return seq.translate(COMP)[::-1]


def read_fasta(path: Path) -> dict[str, str]:
    records, name, chunks = {}, None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if name is not None:
                records[name] = "".join(chunks)
            name, chunks = line[1:], []
        else:
            chunks.append(line)
    records[name] = "".join(chunks)
    return records


def read_fastq(path: Path) -> tuple[list[str], list[str], list[str]]:
    lines = gzip.open(path, "rt").read().splitlines()
    return lines[0::4], lines[1::4], lines[3::4]


def read_vcf(path: Path):
    """(variant table, samples, haplotype array sites x samples x 2 with -1 for the missing second allele of haploid calls)."""
    rows, gts, samples = [], [], []
    for line in gzip.open(path, "rt"):
        if line.startswith("##"):
            continue
        fields = line.rstrip("\n").split("\t")
        if line.startswith("#"):
            samples = fields[9:]
            continue
        rows.append(fields[:5])
        gts.append([(int(g[0]), int(g[2]) if len(g) == 3 else -1) for g in fields[9:]])
    table = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"]).astype({"pos": int})
    return table, samples, np.array(gts)


def dosage(haps: np.ndarray) -> np.ndarray:
    """ALT dosage, haploid calls counted twice (MAGE's 0/2 coding of male chrX)."""
    second = np.where(haps[:, :, 1] < 0, haps[:, :, 0], haps[:, :, 1])
    return haps[:, :, 0] + second


def transcript_models(world: Path) -> dict[str, dict]:
    """transcript_id -> chrom, strand, gene, sorted exons (1-based inclusive) from the GTF."""
    exons = gtf.read_features(world / "reference" / "genes.gtf", "exon")
    models = {}
    for tx, group in exons.groupby("transcript_id", sort=False):
        first = group.iloc[0]
        models[tx] = {
            "chrom": first["chrom"],
            "strand": first["strand"],
            "gene_id": first["gene_id"],
            "gene_name": first["gene_name"],
            "exons": sorted(zip(group["start"], group["end"], strict=True)),
        }
    return models


def spliced(genome: dict[str, str], model: dict) -> str:
    seq = "".join(genome[model["chrom"]][s - 1 : e] for s, e in model["exons"])
    return seq if model["strand"] == "+" else revcomp(seq)


def unique_kmers(seqs: dict[str, str], k: int) -> dict[str, str]:
    """k-mer (both orientations) -> the one sequence name it occurs in; k-mers shared between names are dropped."""
    owner: dict[str, str] = {}
    shared = set()
    for name, seq in seqs.items():
        for i in range(len(seq) - k + 1):
            for kmer in (seq[i : i + k], revcomp(seq[i : i + k])):
                if owner.setdefault(kmer, name) != name:
                    shared.add(kmer)
    for kmer in shared:
        del owner[kmer]
    return owner


def kmer_hits(reads: list[str], index: dict[str, str], k: int, step: int) -> list[set[str]]:
    """For each read, the names whose unique k-mers it contains (k-mers sampled every ``step`` bases)."""
    hits = []
    for read in reads:
        found = {index[read[i : i + k]] for i in range(0, len(read) - k + 1, step) if read[i : i + k] in index}
        hits.append(found)
    return hits


def allele_kmers(world: Path, k: int = 17) -> dict[str, tuple[str, int]]:
    """k-mer -> (variant ID, allele 0/1) for exonic SNPs with no other SNP within the k-mer, from genome + GTF + VCF."""
    genome = read_fasta(world / "reference" / "genome.fa")
    variants, _, _ = read_vcf(world / "genotypes" / "genotypes.vcf.gz")
    by_pos = {(c, p): (vid, ref, alt) for c, p, vid, ref, alt in variants.itertuples(index=False)}
    index: dict[str, tuple[str, int]] = {}
    half = k // 2
    for model in transcript_models(world).values():
        positions = [p for s, e in model["exons"] for p in range(s, e + 1)]
        if model["strand"] == "-":
            positions = positions[::-1]
        seq = spliced(genome, model)
        is_snp = [(model["chrom"], p) in by_pos for p in positions]
        for i, p in enumerate(positions):
            if not is_snp[i] or i < half or i + half >= len(seq) or sum(is_snp[i - half : i + half + 1]) != 1:
                continue
            vid, ref, alt = by_pos[(model["chrom"], p)]
            for allele, base in ((0, ref), (1, alt)):
                base = base if model["strand"] == "+" else base.translate(COMP)
                kmer = seq[i - half : i] + base + seq[i + 1 : i + half + 1]
                index[kmer] = index[revcomp(kmer)] = (vid, allele)
    return index


def allele_observations(world: Path, library: str, index: dict, k: int = 17) -> Counter:
    """(variant ID, allele) -> number of reads showing it, over both mates."""
    seen: Counter = Counter()
    for mate in (1, 2):
        _, seqs, _ = read_fastq(world / "fastq" / f"{library}_R{mate}.fastq.gz")
        for read in seqs:
            for hit in {index[read[i : i + k]] for i in range(len(read) - k + 1) if read[i : i + k] in index}:
                seen[hit] += 1
    return seen


def concordance(seen: Counter, variant_ids: list[str], doses: np.ndarray) -> np.ndarray:
    """Per individual: share of observed alleles its genotypes can explain (ALT needs dosage > 0, REF dosage < 2)."""
    row = {vid: i for i, vid in enumerate(variant_ids)}
    explained, total = np.zeros(doses.shape[1]), 0
    for (vid, allele), n in seen.items():
        d = doses[row[vid]]
        explained += n * ((d > 0) if allele == 1 else (d < 2))
        total += n
    return explained / total


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "world"
    simulate(out, *TINY)
    return out


# ------------------------------------------------------------------------------------------------------------
# CLI and determinism


def test_help():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "--seed" in proc.stdout and "--individuals" in proc.stdout


def test_same_seed_gives_byte_identical_files(tiny, tmp_path):
    again = tmp_path / "again"
    simulate(again, *TINY)
    first, second = file_hashes(tiny), file_hashes(again)
    assert len(first) > 30
    assert first == second


def test_different_seed_differs(tiny, tmp_path):
    other = tmp_path / "other"
    simulate(other, *[("8" if a == "7" else a) for a in TINY])
    first, second = file_hashes(tiny), file_hashes(other)
    assert set(first) - set(second) or any(first[f] != second[f] for f in first if f in second)
    assert first["reference/genome.fa"] != second["reference/genome.fa"]
    assert first["genotypes/genotypes.vcf.gz"] != second["genotypes/genotypes.vcf.gz"]


@pytest.mark.parametrize(
    ("args", "culprit"),
    [
        (["--individuals", "3"], "--individuals"),
        (["--read-length", "10"], "--read-length"),
        (["--read-pairs", "5"], "--read-pairs"),
        (["--seed", "-1"], "--seed"),
        (["--params", "no_such_params.json"], "no_such_params.json"),
        (["--fastq-compression", "0"], "--fastq-compression"),
    ],
)
def test_bad_arguments_exit_1_naming_the_culprit(tmp_path, capsys, args, culprit):
    assert run(simulate_world.main, ["--out", str(tmp_path / "w"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR:") and culprit in err
    assert not (tmp_path / "w").exists()


def test_bad_argument_from_the_command_line_has_no_traceback(tmp_path):
    proc = simulate(tmp_path / "w", "--individuals", "2", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("ERROR:") and "Traceback" not in proc.stderr


def test_unknown_parameter_in_params_file(tmp_path, capsys):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"seed": 1, "colour": "blue"}))
    assert run(simulate_world.main, ["--out", str(tmp_path / "w"), "--params", str(params)]) == 1
    assert "colour" in capsys.readouterr().err


def test_refuses_to_overwrite_a_directory_that_is_not_a_world(tmp_path, capsys):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "thesis.txt").write_text("keep me")
    assert run(simulate_world.main, ["--out", str(target), "--individuals", "12"]) == 1
    assert "precious" in capsys.readouterr().err
    assert (target / "thesis.txt").read_text() == "keep me"


# ------------------------------------------------------------------------------------------------------------
# Reference files


def test_genome_index_and_par(tiny, tmp_path):
    require_tool("samtools")
    genome = read_fasta(tiny / "reference" / "genome.fa")
    assert list(genome) == ["chr1", "chr2", "chrX", "chrY"]
    assert all(set(seq) <= set("ACGT") for seq in genome.values())
    gc = sum(seq.count("G") + seq.count("C") for seq in genome.values()) / sum(map(len, genome.values()))
    assert 0.38 < gc < 0.50
    copy = tmp_path / "genome.fa"
    copy.write_bytes((tiny / "reference" / "genome.fa").read_bytes())
    subprocess.run(["samtools", "faidx", str(copy)], check=True)
    assert (tmp_path / "genome.fa.fai").read_text() == (tiny / "reference" / "genome.fa.fai").read_text()
    chrom, start, end, _ = (tiny / "reference" / "par.bed").read_text().split()
    assert chrom == "chrX" and int(start) == 0 and 0 < int(end) < len(genome["chrX"])


def test_gtf_parses_and_has_the_planted_gene_classes(tiny):
    path = tiny / "reference" / "genes.gtf"
    genes = gtf.genes(path)
    par_end = int((tiny / "reference" / "par.bed").read_text().split()[2])
    assert genes.index.str.fullmatch(r"SIMG\d{4}\.1").all()
    tx2gene = gtf.tx2gene(path)
    assert tx2gene.index.str.fullmatch(r"SIMT\d{4}\.1").all() and set(tx2gene) == set(genes.index)
    by_name = genes.reset_index().set_index("gene_name")
    xist = by_name.loc["XIST"]
    assert xist["chrom"] == "chrX" and xist["start"] > par_end and xist["gene_type"] == "lncRNA"
    for name in ("RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY"):
        assert by_name.loc[name, "chrom"] == "chrY"
    par_genes = genes[(genes["chrom"] == "chrX") & (genes["end"] <= par_end)]
    assert len(par_genes) >= 2
    assert set(genes["strand"]) == {"+", "-"}
    assert (tx2gene.value_counts() > 1).any(), "no alternatively spliced gene"
    transcripts = gtf.read_features(path, "transcript")
    assert {"transcript_type", "transcript_name", "gene_type"} <= set(transcripts.columns)


def test_introns_have_gt_ag_motifs(tiny):
    genome = read_fasta(tiny / "reference" / "genome.fa")
    n_introns = 0
    for model in transcript_models(tiny).values():
        seq = genome[model["chrom"]]
        for (_, end), (start, _) in zip(model["exons"][:-1], model["exons"][1:], strict=True):
            intron = seq[end : start - 1]  # 1-based exon end -> intron starts at 0-based index `end`
            intron = intron if model["strand"] == "+" else revcomp(intron)
            assert intron[:2] == "GT" and intron[-2:] == "AG", (model, end, start)
            n_introns += 1
    assert n_introns > 20


def test_transcripts_fa_is_the_spliced_genome(tiny):
    genome = read_fasta(tiny / "reference" / "genome.fa")
    models = transcript_models(tiny)
    records = read_fasta(tiny / "reference" / "transcripts.fa")
    assert len(records) == len(models)
    for header, seq in records.items():
        fields = header.split("|")
        assert len(fields) == 9 and fields[-1] == ""
        tx_id, gene_id, _, _, tx_name, gene_name, length, biotype = fields[:8]
        model = models[tx_id]
        assert (gene_id, gene_name) == (model["gene_id"], model["gene_name"])
        assert tx_name.startswith(gene_name + "-") and biotype in ("protein_coding", "lncRNA")
        assert int(length) == len(seq)
        assert seq == spliced(genome, model)


# ------------------------------------------------------------------------------------------------------------
# Genotypes


def test_vcf_parses_with_bcftools_and_cyvcf2(tiny):
    require_tool("bcftools")
    cyvcf2 = pytest.importorskip("cyvcf2")
    vcf = tiny / "genotypes" / "genotypes.vcf.gz"
    listed = subprocess.run(["bcftools", "view", "-H", str(vcf)], capture_output=True, text=True, check=True).stdout
    n_bcftools = len(listed.splitlines())
    reader = cyvcf2.VCF(str(vcf))
    records = list(reader)
    assert n_bcftools == len(records) > 300
    assert all(len(r.ALT) == 1 and r.is_snp for r in records)
    assert all(r.ID == f"{r.CHROM}_{r.POS}_{r.REF}_{r.ALT[0]}" for r in records)
    fai = {line.split()[0]: int(line.split()[1]) for line in (tiny / "reference" / "genome.fa.fai").read_text().splitlines()}
    assert {c: n for c, n in zip(reader.seqnames, reader.seqlens, strict=True)} == fai
    individuals = pd.read_csv(tiny / "genotypes" / "individuals.tsv", sep="\t")
    assert sorted(reader.samples) == sorted(individuals["individual"])
    region = subprocess.run(["bcftools", "view", "-H", "-r", "chr2", str(vcf)], capture_output=True, text=True, check=True)
    assert region.stdout and all(line.startswith("chr2\t") for line in region.stdout.splitlines())


def test_ref_alleles_match_the_genome(tiny):
    require_tool("bcftools")
    vcf = tiny / "genotypes" / "genotypes.vcf.gz"
    check = subprocess.run(
        ["bcftools", "norm", "--check-ref", "e", "-f", str(tiny / "reference" / "genome.fa"), "-Ou", "-o", "/dev/null", str(vcf)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    genome = read_fasta(tiny / "reference" / "genome.fa")
    table, _, _ = read_vcf(vcf)
    assert all(
        genome[c][p - 1] == ref != alt for c, p, ref, alt in zip(table.chrom, table.pos, table.ref, table.alt, strict=True)
    )


def test_chrx_ploidy_follows_sex_and_par(tiny):
    table, samples, haps = read_vcf(tiny / "genotypes" / "genotypes.vcf.gz")
    raw = [line.split("\t")[9:] for line in gzip.open(tiny / "genotypes" / "genotypes.vcf.gz", "rt") if not line.startswith("#")]
    sex = pd.read_csv(tiny / "genotypes" / "individuals.tsv", sep="\t", index_col=0)["sex"].reindex(samples).to_numpy()
    par_end = int((tiny / "reference" / "par.bed").read_text().split()[2])
    haploid = haps[:, :, 1] < 0
    non_par = ((table["chrom"] == "chrX") & (table["pos"] > par_end)).to_numpy()
    assert non_par.any() and ((table["chrom"] == "chrX") & ~non_par).any()
    expected = non_par[:, None] & (sex == "male")[None, :]
    assert (haploid == expected).all()
    assert all(len(g) == 1 or g[1] == "|" for row in raw for g in (x.strip() for x in row)), "diploid calls must be phased"


# ------------------------------------------------------------------------------------------------------------
# Libraries, samplesheet and truth


def test_samplesheet_and_planted_identity_problems(tiny):
    sheet = pd.read_csv(tiny / "samplesheet.csv", keep_default_na=False)
    assert (
        list(sheet.columns)
        == "sample individual population continental_group sex batch fastq_1 fastq_2 run_accession strandedness".split()
    )
    libs = pd.read_csv(tiny / "truth" / "libraries.tsv", sep="\t").set_index("library")
    assert sorted(sheet["sample"]) == sorted(libs.index)
    sheet = sheet.set_index("sample")
    assert (sheet["individual"] == libs.loc[sheet.index, "labelled_individual"]).all()
    assert (sheet["sex"] == libs.loc[sheet.index, "labelled_sex"]).all()
    assert set(sheet["strandedness"]) <= {"auto", "unstranded"} and (sheet["run_accession"] == "").all()
    for column in ("fastq_1", "fastq_2"):
        assert all((tiny / path).is_file() for path in sheet[column])
    # metadata agree across the libraries of one individual
    assert (sheet.groupby("individual")[["sex", "population", "continental_group"]].nunique() == 1).all().all()

    wrong_sex = libs[libs["labelled_sex"] != libs["true_sex"]]
    assert len(wrong_sex) == 1 and "wrong_sex_label" in wrong_sex["planted_issue"].iat[0]
    swapped = libs[libs["labelled_individual"] != libs["true_individual"]]
    assert len(swapped) == 2 and swapped["planted_issue"].str.contains("swap_exchange").all()
    a, b = swapped.index
    assert swapped.loc[a, "true_individual"] == swapped.loc[b, "labelled_individual"]
    assert swapped.loc[b, "true_individual"] == swapped.loc[a, "labelled_individual"]
    triplicate = libs[libs["planted_issue"].str.contains("triplicate")].sort_values("read_pairs")
    stem = triplicate.index[0]
    assert list(triplicate.index) == [stem, f"{stem}-7-1", f"{stem}-7-2"]
    assert triplicate["labelled_individual"].nunique() == 1 and triplicate["read_pairs"].is_monotonic_increasing
    assert stem in swapped.index  # MAGE §4: the triplicate's original library is one of the exchanged pair
    individuals = pd.read_csv(tiny / "truth" / "individuals.tsv", sep="\t").set_index("individual")
    assert (libs["true_sex"] == individuals.loc[libs["true_individual"], "sex"].to_numpy()).all()


def test_fastqs_match_the_declared_read_counts(tiny):
    libs = pd.read_csv(tiny / "truth" / "libraries.tsv", sep="\t").set_index("library")
    gene_pairs = pd.read_csv(tiny / "truth" / "gene_read_pairs.tsv", sep="\t", index_col=0)
    tx_pairs = pd.read_csv(tiny / "truth" / "transcript_read_pairs.tsv", sep="\t", index_col=0)
    params = json.loads((tiny / "truth" / "params.json").read_text())
    for library, row in libs.iterrows():
        names1, seqs1, quals1 = read_fastq(tiny / "fastq" / f"{library}_R1.fastq.gz")
        names2, seqs2, _ = read_fastq(tiny / "fastq" / f"{library}_R2.fastq.gz")
        assert len(names1) == len(names2) == row["read_pairs"]
        assert [n.split()[0] for n in names1] == [n.split()[0] for n in names2]
        assert all(len(s) == params["read_length"] for s in seqs1 + seqs2)
        assert all(min(q) >= "!" and max(q) <= "J" for q in quals1[:50])
        assert gene_pairs[library].sum() + row["unmappable_pairs"] == row["read_pairs"]
    assert (tx_pairs.groupby("gene_id").sum(numeric_only=True).loc[gene_pairs.index] == gene_pairs).all().all()


def test_reads_carry_the_true_individuals_alleles(tiny):
    """Genotype concordance from allele-specific k-mers: every library matches its true individual, not its label."""
    index = allele_kmers(tiny)
    table, samples, haps = read_vcf(tiny / "genotypes" / "genotypes.vcf.gz")
    doses = dosage(haps)
    libs = pd.read_csv(tiny / "truth" / "libraries.tsv", sep="\t")
    for row in libs.itertuples():
        seen = allele_observations(tiny, row.library, index)
        assert sum(seen.values()) > 200
        score = pd.Series(concordance(seen, list(table["id"]), doses), index=samples)
        assert score.idxmax() == row.true_individual, (row.library, score.sort_values().tail(3))
        assert score[row.true_individual] > 0.97
        if row.labelled_individual != row.true_individual:
            assert score[row.labelled_individual] < score[row.true_individual] - 0.03


def test_sex_specific_genes_follow_true_sex(tiny):
    genome = read_fasta(tiny / "reference" / "genome.fa")
    models = transcript_models(tiny)
    sex_genes = pd.read_csv(tiny / "truth" / "sex_genes.tsv", sep="\t")
    assert set(sex_genes["gene_name"]) == {"XIST", "RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY"}
    expressed_in = dict(zip(sex_genes["gene_id"], sex_genes["expressed_in"], strict=True))
    seqs = {tx: spliced(genome, m) for tx, m in models.items()}
    owner = {tx: models[tx]["gene_id"] for tx in seqs}
    index = {kmer: owner[tx] for kmer, tx in unique_kmers(seqs, 25).items() if owner[tx] in expressed_in}
    libs = pd.read_csv(tiny / "truth" / "libraries.tsv", sep="\t")
    for row in libs.itertuples():
        _, reads, _ = read_fastq(tiny / "fastq" / f"{row.library}_R1.fastq.gz")
        counts = Counter(g for hit in kmer_hits(reads, index, 25, 5) for g in hit)
        female = sum(counts[g] for g, s in expressed_in.items() if s == "female")
        male = sum(counts[g] for g, s in expressed_in.items() if s == "male")
        if row.true_sex == "female":
            assert female > 5 and male == 0, row
        else:
            assert male > 5 and female == 0, row


def test_truth_tables_are_consistent(tiny):
    truth = tiny / "truth"
    genes = pd.read_csv(truth / "genes.tsv", sep="\t").set_index("gene_id")
    eqtl = pd.read_csv(truth / "eqtl.tsv", sep="\t")
    sqtl = pd.read_csv(truth / "sqtl.tsv", sep="\t")
    nulls = pd.read_csv(truth / "null_genes.tsv", sep="\t")
    table, _, _ = read_vcf(tiny / "genotypes" / "genotypes.vcf.gz")
    ids = set(table["id"])
    assert set(eqtl["variant_id"]) <= ids and set(sqtl["variant_id"]) <= ids
    assert set(eqtl["strength"]) == {"strong", "weak"}
    assert (eqtl.loc[eqtl["strength"] == "strong", "log2_afc"].abs() >= 0.8).all()
    assert (eqtl["chrom"] == eqtl["variant_id"].str.split("_").str[0]).all()
    assert not set(nulls["gene_id"]) & (set(eqtl["gene_id"]) | set(sqtl["gene_id"]))
    assert genes.loc[nulls["gene_id"], "expressed"].all()
    tx2gene = gtf.tx2gene(tiny / "reference" / "genes.gtf")
    assert (tx2gene[sqtl["transcript_id"]].to_numpy() == sqtl["gene_id"].to_numpy()).all()
    params = json.loads((truth / "params.json").read_text())
    assert params["seed"] == 7 and params["individuals"] == 12


# ------------------------------------------------------------------------------------------------------------
# The committed world: planted effects recoverable from what was written


@pytest.fixture(scope="module")
def world_genotypes(test_world):
    table, samples, haps = read_vcf(test_world / "genotypes" / "genotypes.vcf.gz")
    return table.set_index("id"), pd.DataFrame(dosage(haps), index=table["id"], columns=samples)


@pytest.fixture(scope="module")
def world_gene_reads(test_world) -> pd.DataFrame:
    """Read pairs per gene and library counted from the committed R1 FASTQs with unique 31-mers."""
    genome = read_fasta(test_world / "reference" / "genome.fa")
    models = transcript_models(test_world)
    owner = unique_kmers(_gene_sequences(genome, models), 31)
    libs = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t")
    counts = {}
    for library in libs["library"]:
        _, reads, _ = read_fastq(test_world / "fastq" / f"{library}_R1.fastq.gz")
        counts[library] = Counter(next(iter(h)) for h in kmer_hits(reads, owner, 31, 9) if len(h) == 1)
    return pd.DataFrame(counts).fillna(0)


def _gene_sequences(genome, models) -> dict[str, str]:
    """One pseudo-sequence per gene: its transcripts joined by N (k-mers never span an N)."""
    joined: dict[str, list[str]] = {}
    for model in models.values():
        joined.setdefault(model["gene_id"], []).append(spliced(genome, model))
    return {gene: "N".join(seqs) for gene, seqs in joined.items()}


def _expression_samples(test_world) -> pd.DataFrame:
    """One correctly labelled library per individual (the deepest), as QTL mapping would use."""
    libs = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t")
    libs = libs[libs["labelled_individual"] == libs["true_individual"]]
    return libs.sort_values("read_pairs").drop_duplicates("true_individual", keep="last").set_index("library")


def test_committed_world_size(test_world):
    assert sum(p.stat().st_size for p in test_world.rglob("*") if p.is_file()) <= 15_000_000


def test_committed_gene_counts_match_the_fastqs(test_world, world_gene_reads):
    truth = pd.read_csv(test_world / "truth" / "gene_read_pairs.tsv", sep="\t", index_col=0)
    counted = world_gene_reads.reindex(index=truth.index, columns=truth.columns).fillna(0)
    assert np.corrcoef(np.log1p(counted.to_numpy().ravel()), np.log1p(truth.to_numpy().ravel()))[0, 1] > 0.99
    ratio = counted.sum(axis=1) / truth.sum(axis=1).clip(lower=1)
    assert ratio[truth.sum(axis=1) > 500].between(0.8, 1.02).all()


def test_committed_eqtls_are_in_the_reads(test_world, world_gene_reads, world_genotypes):
    """log CPM from the FASTQs regressed on causal dosage: strong effects significant with the planted sign, nulls calm."""
    _, doses = world_genotypes
    samples = _expression_samples(test_world)
    counts = world_gene_reads[samples.index]
    log_cpm = np.log2((counts + 0.5) / counts.sum() * 1e6)
    log_cpm.columns = samples["true_individual"]
    eqtl = pd.read_csv(test_world / "truth" / "eqtl.tsv", sep="\t")
    single = eqtl[eqtl["causal_variants_in_gene"] == 1]

    def test(gene, variant):
        fit = stats.linregress(doses.loc[variant, log_cpm.columns].to_numpy(), log_cpm.loc[gene].to_numpy())
        return fit.slope, fit.pvalue

    results = pd.DataFrame(
        [test(g, v) for g, v in zip(single["gene_id"], single["variant_id"], strict=True)], columns=["slope", "p"]
    )
    strong = (single["strength"] == "strong").to_numpy()
    same_sign = np.sign(results["slope"]) == np.sign(single["log2_afc"].to_numpy())
    assert same_sign[strong].mean() >= 0.95
    assert (results["p"][strong] < 1e-3).mean() >= 0.75
    assert (results["p"][~strong] < 0.05).mean() >= 0.3  # weak effects: detectable sometimes, not always

    nulls = pd.read_csv(test_world / "truth" / "null_genes.tsv", sep="\t")
    nulls = nulls[~nulls["population_shift"] & (nulls["chrom"] != "chrX")]
    genes = gtf.genes(test_world / "reference" / "genes.gtf")
    variants, _ = world_genotypes
    rng = np.random.default_rng(0)
    null_p = []
    for gene in nulls["gene_id"]:
        near = variants[
            (variants["chrom"] == genes.loc[gene, "chrom"]) & ((variants["pos"] - genes.loc[gene, "tss"]).abs() < 50_000)
        ]
        common = [v for v in near.index if 0.2 < doses.loc[v].mean() / 2 < 0.8]
        null_p.append(test(gene, common[rng.integers(len(common))])[1])
    assert len(null_p) >= 15 and np.mean(np.array(null_p) < 0.01) <= 0.15


def test_committed_sqtls_change_isoform_ratios_in_the_reads(test_world, world_genotypes):
    genome = read_fasta(test_world / "reference" / "genome.fa")
    models = transcript_models(test_world)
    sqtl = pd.read_csv(test_world / "truth" / "sqtl.tsv", sep="\t")
    _, doses = world_genotypes
    samples = _expression_samples(test_world)
    isoforms = {tx: spliced(genome, m) for tx, m in models.items() if m["gene_id"] in set(sqtl["gene_id"])}
    index = unique_kmers(isoforms, 25)
    counts = {}
    for library in samples.index:
        _, reads1, _ = read_fastq(test_world / "fastq" / f"{library}_R1.fastq.gz")
        _, reads2, _ = read_fastq(test_world / "fastq" / f"{library}_R2.fastq.gz")
        pairs = [a | b for a, b in zip(kmer_hits(reads1, index, 25, 5), kmer_hits(reads2, index, 25, 5), strict=True)]
        counts[library] = Counter(next(iter(h)) for h in pairs if len(h) == 1)
    counts = pd.DataFrame(counts).fillna(0)
    agree, significant = [], []
    for row in sqtl.itertuples():
        alt_tx = row.transcript_id
        other = [tx for tx, m in models.items() if m["gene_id"] == row.gene_id and tx != alt_tx]
        logit = np.log((counts.loc[alt_tx] + 0.5) / (counts.loc[other].sum() + 0.5))
        fit = stats.linregress(doses.loc[row.variant_id, samples["true_individual"]].to_numpy(), logit.to_numpy())
        agree.append(np.sign(fit.slope) == np.sign(row.effect))
        significant.append(fit.pvalue < 0.01)
    assert np.mean(agree) >= 0.9 and np.mean(significant) >= 0.7


def test_committed_population_structure(test_world, world_genotypes):
    """Observed allele frequencies follow the declared ones; genotype PC1-2 separate continental groups."""
    variants, doses = world_genotypes
    individuals = pd.read_csv(test_world / "genotypes" / "individuals.tsv", sep="\t").set_index("individual")
    declared = pd.read_csv(test_world / "truth" / "population_allele_frequencies.tsv", sep="\t").set_index("variant_id")
    autosomal = doses[variants["chrom"].isin(["chr1", "chr2"]).to_numpy()]
    for population, members in individuals.groupby("population").groups.items():
        observed = autosomal[members].mean(axis=1) / 2
        assert np.corrcoef(observed, declared.loc[autosomal.index, population])[0, 1] > 0.85
    centred = autosomal.T - autosomal.T.mean()
    centred = centred.loc[:, centred.std() > 0]
    u, s, _ = np.linalg.svd((centred / centred.std()).to_numpy(), full_matrices=False)
    pcs = pd.DataFrame(u[:, :2] * s[:2], index=autosomal.columns)
    group = individuals.loc[pcs.index, "continental_group"]
    centroids = pcs.groupby(group.to_numpy()).mean()
    spread = pcs.groupby(group.to_numpy()).std().to_numpy().max()
    gaps = [np.linalg.norm(centroids.iloc[i] - centroids.iloc[j]) for i in range(len(centroids)) for j in range(i)]
    assert min(gaps) > 2 * spread


def test_committed_world_regenerates_from_its_params(test_world, tmp_path):
    """Nobody edits assets/test_world by hand: a fresh run with truth/params.json gives the same content.

    Compressed files are compared after decompression so a different zlib/htslib build cannot fail the test.
    """
    fresh = tmp_path / "world"
    simulate(fresh, "--params", str(test_world / "truth" / "params.json"), "--fastq-compression", "1")
    assert file_hashes(fresh, decompress=True) == file_hashes(test_world, decompress=True)
