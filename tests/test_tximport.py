"""tximport_genes.py against R tximport (Debian r-bioc-tximport) to 1e-8 on counts, TPM and lengths.

Inputs: adversarial quant.sf fixtures written here (genes with zero TPM in some libraries, a gene zero everywhere,
single-transcript genes, GENCODE-style '|' names, effective lengths that vary by library), real Salmon runs on
the real NA12878 reads (shared data) and on the bundled test world when present. Every R call is one Rscript run
in a session fixture; in CI (env CI set) a missing R or tximport fails instead of skipping.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import tximport_genes

from conftest import require_tool
from magelib.cli import run
from magelib.reads import tximport

R_SCRIPT = r"""
suppressMessages(library(tximport))
# One line per case: case name, mode, sample table (id<TAB>quant.sf), tx2gene table (tx<TAB>gene)
cases <- read.delim("cases.tsv", header = FALSE, stringsAsFactors = FALSE)
for (k in seq_len(nrow(cases))) {
    case <- cases[k, 1]; mode <- cases[k, 2]
    s <- read.delim(cases[k, 3], header = FALSE, stringsAsFactors = FALSE)
    files <- setNames(s[[2]], s[[1]])
    tx2gene <- read.delim(cases[k, 4], header = FALSE, stringsAsFactors = FALSE)
    txi <- suppressMessages(if (mode == "salmon") {
        tximport(files, type = "salmon", tx2gene = tx2gene, countsFromAbundance = "no", ignoreAfterBar = TRUE)
    } else if (mode == "mage_call") {
        # MAGE's normalize_and_filter.R call: lengthCol = 'Length' together with type = 'salmon'
        tximport(files, type = "salmon", tx2gene = tx2gene, abundanceCol = "TPM", countsCol = "NumReads",
                 lengthCol = "Length", ignoreAfterBar = TRUE)
    } else {
        tximport(files, type = "none", txIdCol = "Name", abundanceCol = "TPM", countsCol = "NumReads",
                 lengthCol = "Length", importer = function(x) read.delim(x, stringsAsFactors = FALSE),
                 tx2gene = tx2gene, countsFromAbundance = "no", ignoreAfterBar = TRUE)
    })
    for (what in c("counts", "abundance", "length")) {
        m <- txi[[what]]
        out <- matrix(sprintf("%.17g", m), nrow = nrow(m), dimnames = dimnames(m))
        write.table(out, paste0(case, ".", what, ".tsv"), sep = "\t", quote = FALSE, col.names = NA)
    }
}
"""

MODES = {"Length": "length", "EffectiveLength": "salmon"}


# ---------------------------------------------------------------- fixtures: quant.sf files
def write_quant(path, names, length, effective, tpm, reads):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"Name": names, "Length": length, "EffectiveLength": effective, "TPM": tpm, "NumReads": reads})
    frame.to_csv(path, sep="\t", index=False, float_format="%.6f")


def write_gtf(path, tx_to_gene: dict[str, str]) -> None:
    lines = []
    for i, (tx, gene) in enumerate(tx_to_gene.items()):
        attrs = f'gene_id "{gene}"; transcript_id "{tx}";'
        lines.append(f"chr1\ttest\ttranscript\t{100 * i + 1}\t{100 * i + 90}\t.\t+\t.\t{attrs}")
    path.write_text("\n".join(lines) + "\n")


def adversarial_world(root):
    """Five libraries over 9 genes that hit every branch of tximport's length rules (seeded, so fixed)."""
    rng = np.random.default_rng(11)
    genes = {
        "G_multi": 3,  # several transcripts, zero TPM in libraries 1 and 3 -> geometric-mean fill
        "G_zero": 2,  # zero everywhere -> mean transcript length
        "G_single": 1,  # one transcript, expressed
        "G_single_zero": 1,  # one transcript, zero in library 0
        "G_bar": 2,  # GENCODE-style names with '|'
        "G_dominant": 4,  # one transcript with all the TPM in some libraries
        "G_a": 2,
        "G_b": 5,
        "G_c": 1,
    }
    tx_to_gene = {}
    for gene, n in genes.items():
        for t in range(n):
            tx_to_gene[f"T_{gene}_{t}.1"] = gene
    names = [f"{tx}|{gene}|OTTHUMG|x|{tx}-201|biotype|" if gene == "G_bar" else tx for tx, gene in tx_to_gene.items()]
    n_tx, n_lib = len(names), 5
    length = rng.integers(150, 5000, size=n_tx)
    gene_of = np.array(list(tx_to_gene.values()))
    samples = {}
    for lib in range(n_lib):
        effective = np.maximum(length - rng.uniform(100, 250), 10.0)  # varies by library, as in Salmon
        reads = rng.gamma(0.6, 200, size=n_tx)
        reads[rng.random(n_tx) < 0.2] = 0
        reads[gene_of == "G_zero"] = 0
        if lib in (1, 3):
            reads[gene_of == "G_multi"] = 0
        if lib == 0:
            reads[gene_of == "G_single_zero"] = 0
        if lib in (2, 4):
            dominant = np.flatnonzero(gene_of == "G_dominant")
            reads[dominant[1:]] = 0
        rate = reads / effective
        tpm = 1e6 * rate / rate.sum()
        directory = root / f"lib{lib}"
        write_quant(directory / "quant.sf", names, length, np.round(effective, 3), tpm, reads)
        samples[f"lib{lib}"] = directory
    gtf = root / "genes.gtf"
    write_gtf(gtf, tx_to_gene)
    return samples, gtf


def salmon_quant(index, r1, r2, outdir):
    subprocess.run(
        ["salmon", "quant", "-i", str(index), "-l", "A", "-1", str(r1), "-2", str(r2), "-p", "2", "-o", str(outdir)],
        check=True,
        capture_output=True,
    )


def salmon_index(fasta, outdir):
    subprocess.run(["salmon", "index", "-t", str(fasta), "-i", str(outdir), "-k", "31"], check=True, capture_output=True)


def na12878_world(root, shared):
    """Three libraries: three disjoint thirds of the real NA12878 read pairs, quantified by Salmon."""
    base = shared / "nfcore-test-datasets_GM12878-chr22region"
    salmon_index(base / "reference" / "transcriptome.fasta", root / "index")
    mates = []
    for m in (1, 2):
        with gzip.open(base / "fastq" / f"test_rnaseq_{m}.fastq.gz", "rt") as handle:
            mates.append(handle.read().splitlines(keepends=True))
    n = len(mates[0]) // 4
    samples = {}
    for part in range(3):
        lo, hi = part * n // 3, (part + 1) * n // 3
        paths = []
        for m in (1, 2):
            path = root / f"part{part}_R{m}.fastq.gz"
            with gzip.open(path, "wt") as handle:
                handle.writelines(mates[m - 1][4 * lo : 4 * hi])
            paths.append(path)
        salmon_quant(root / "index", *paths, root / f"NA12878_part{part}")
        samples[f"NA12878_part{part}"] = root / f"NA12878_part{part}"
    return samples, base / "reference" / "genome.gtf"


def bundled_world_libraries(root, world, limit=4):
    """The first few bundled test-world libraries, quantified by Salmon."""
    salmon_index(world / "reference" / "transcripts.fa", root / "index")
    samples = {}
    for r1 in sorted((world / "fastq").glob("*_R1.fastq.gz"))[:limit]:
        library = r1.name[: -len("_R1.fastq.gz")]
        salmon_quant(root / "index", r1, r1.with_name(f"{library}_R2.fastq.gz"), root / library)
        samples[library] = root / library
    return samples, world / "reference" / "genes.gtf"


# ---------------------------------------------------------------- one Rscript run for every case
def run_r(workdir) -> None:
    require_tool("Rscript", "salmon")
    (workdir / "reference.R").write_text(R_SCRIPT)
    proc = subprocess.run(["Rscript", "reference.R"], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        if "there is no package called" in proc.stderr:
            if os.environ.get("CI"):
                pytest.fail("R package tximport missing in CI")
            pytest.skip("R package tximport not installed")
        raise AssertionError(proc.stderr)


@pytest.fixture(scope="session")
def cases(tmp_path_factory):
    """case name -> (quant dirs, GTF, R results per mode); quant dirs are named by library ID."""
    from conftest import SHARED_DATA, TEST_WORLD

    require_tool("Rscript", "salmon")
    root = tmp_path_factory.mktemp("tximport")
    worlds = {"adversarial": adversarial_world(root / "adversarial")}
    if (SHARED_DATA / "nfcore-test-datasets_GM12878-chr22region").is_dir():
        worlds["na12878"] = na12878_world(root / "na12878", SHARED_DATA)
    if (TEST_WORLD / "fastq").is_dir():
        worlds["test_world"] = bundled_world_libraries(root / "test_world", TEST_WORLD)
    lines = []
    for name, (samples, gtf) in worlds.items():
        (root / f"{name}.samples.tsv").write_text("".join(f"{s}\t{d / 'quant.sf'}\n" for s, d in samples.items()))
        tx2gene = tximport_genes.tx2gene(gtf)
        tx2gene.to_csv(root / f"{name}.tx2gene.tsv", sep="\t", header=False)
        for mode in ("salmon", "length", "mage_call"):
            lines.append(f"{name}.{mode}\t{mode}\t{root / f'{name}.samples.tsv'}\t{root / f'{name}.tx2gene.tsv'}\n")
    (root / "cases.tsv").write_text("".join(lines))
    run_r(root)

    def r_result(case):
        return {
            what: pd.read_csv(root / f"{case}.{what}.tsv", sep="\t", index_col=0) for what in ("counts", "abundance", "length")
        }

    return {
        name: (samples, gtf, {mode: r_result(f"{name}.{mode}") for mode in ("salmon", "length", "mage_call")})
        for name, (samples, gtf) in worlds.items()
    }


def run_cli(dirs, gtf, outdir, *extra):
    argv = ["--quant", *map(str, dirs), "--gtf", str(gtf), "--outdir", str(outdir), *map(str, extra)]
    assert run(tximport_genes.main, argv) == 0
    return {what: pd.read_csv(outdir / f"gene_{what}.tsv", sep="\t", index_col=0) for what in ("counts", "tpm", "lengths")}


def assert_matches_r(ours, theirs):
    for mine, what in (("counts", "counts"), ("tpm", "abundance"), ("lengths", "length")):
        expected = theirs[what]
        assert sorted(ours[mine].index) == sorted(expected.index), what
        assert list(ours[mine].columns) == sorted(expected.columns), what
        expected = expected.loc[ours[mine].index, ours[mine].columns]
        np.testing.assert_allclose(ours[mine].to_numpy(), expected.to_numpy(), rtol=1e-8, atol=0, err_msg=what)


@pytest.mark.parametrize("world", ["adversarial", "na12878", "test_world"])
@pytest.mark.parametrize("length_col", ["EffectiveLength", "Length"])
def test_matches_r_tximport(cases, world, length_col, tmp_path):
    if world not in cases:
        pytest.skip(f"{world} data not present")
    samples, gtf, r = cases[world]
    extra = ["--length-col", length_col]
    if world == "na12878":
        extra.append("--drop-unknown-transcripts")  # 3 of its 12 FASTA transcripts have no GTF record; R drops them too
    ours = run_cli(samples.values(), gtf, tmp_path, *extra)
    assert_matches_r(ours, r[MODES[length_col]])


def test_adversarial_fixture_hits_every_length_rule(cases):
    """Guard for the fixture itself: a gene zero in some libraries, one zero in all, and lengths that differ."""
    tpm = cases["adversarial"][2]["salmon"]["abundance"]
    zero_libraries = (tpm == 0).sum(axis=1)
    assert zero_libraries["G_zero"] == tpm.shape[1]
    assert 0 < zero_libraries["G_multi"] < tpm.shape[1] and 0 < zero_libraries["G_single_zero"] < tpm.shape[1]
    assert "G_bar" in tpm.index


def test_mage_length_col_is_ignored_by_tximport(cases):
    """MAGE passed lengthCol='Length' with type='salmon'; tximport's salmon preset overrides it with EffectiveLength."""
    r = cases["adversarial"][2]
    pd.testing.assert_frame_equal(r["mage_call"]["length"], r["salmon"]["length"])
    assert not np.allclose(r["length"]["length"].to_numpy(), r["salmon"]["length"].to_numpy())


def test_length_rules_closed_form():
    """fill_missing_lengths on a hand-made matrix: geometric mean of the expressed libraries, else the mean length."""
    length = np.array([[100.0, np.nan, 400.0], [np.nan, np.nan, np.nan], [7.0, 8.0, 9.0]])
    filled = tximport.fill_missing_lengths(length, np.array([1.0, 250.0, 3.0]))
    np.testing.assert_allclose(filled[0], [100, 200, 400])
    np.testing.assert_allclose(filled[1], [250, 250, 250])
    np.testing.assert_allclose(filled[2], [7, 8, 9])


# ---------------------------------------------------------------- bad input
@pytest.fixture
def small(tmp_path):
    samples, gtf = adversarial_world(tmp_path / "small")
    return samples, gtf


def fails_with(argv, capsys, *fragments):
    assert run(tximport_genes.main, [str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_unknown_transcript_fails_or_is_dropped(small, tmp_path, capsys):
    samples, gtf = small
    lines = gtf.read_text().splitlines()
    gtf.write_text("\n".join(line for line in lines if "T_G_b_3.1" not in line) + "\n")
    out = tmp_path / "out"
    fails_with(["--quant", *samples.values(), "--gtf", gtf, "--outdir", out], capsys, "transcript 'T_G_b_3.1' is not in the GTF")
    assert not (out / "gene_counts.tsv").exists()
    ours = run_cli(samples.values(), gtf, out, "--drop-unknown-transcripts")
    assert "dropped 1 of" in capsys.readouterr().err
    assert "G_b" in ours["counts"].index


def test_mismatched_transcript_order(small, capsys, tmp_path):
    samples, gtf = small
    quant = samples["lib2"] / "quant.sf"
    frame = pd.read_csv(quant, sep="\t")
    frame.iloc[[3, 4]] = frame.iloc[[4, 3]].to_numpy()
    frame.to_csv(quant, sep="\t", index=False)
    fails_with(["--quant", *samples.values(), "--gtf", gtf, "--outdir", tmp_path], capsys, "lib2/quant.sf: line 5", "one index")


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda f: f.assign(TPM=f["TPM"].astype(object).where(f.index != 2, "nan")), "line 4, column 'TPM'"),
        (lambda f: f.assign(NumReads=f["NumReads"].where(f.index != 0, -1.0)), "line 2, column 'NumReads'"),
        (lambda f: f.rename(columns={"TPM": "tpm"}), "header must be Name Length EffectiveLength TPM NumReads"),
        (lambda f: f.iloc[:0], "no transcripts"),
    ],
)
def test_malformed_quant(small, capsys, tmp_path, edit, fragment):
    samples, gtf = small
    quant = samples["lib0"] / "quant.sf"
    edit(pd.read_csv(quant, sep="\t")).to_csv(quant, sep="\t", index=False)
    fails_with(["--quant", *samples.values(), "--gtf", gtf, "--outdir", tmp_path], capsys, "lib0/quant.sf", fragment)


def test_missing_quant_and_duplicate_library(small, capsys, tmp_path):
    samples, gtf = small
    empty = tmp_path / "libX"
    empty.mkdir()
    fails_with(["--quant", empty, "--gtf", gtf], capsys, "libX: no quant.sf")
    twin = tmp_path / "twin" / "lib0"
    shutil.copytree(samples["lib0"], twin)
    fails_with(["--quant", *samples.values(), twin, "--gtf", gtf], capsys, "duplicate library", "'lib0'")


def test_duplicate_transcript_after_bar(small, capsys, tmp_path):
    samples, gtf = small
    for directory in samples.values():
        quant = directory / "quant.sf"
        frame = pd.read_csv(quant, sep="\t")
        frame.loc[1, "Name"] = frame.loc[0, "Name"] + "|extra"
        frame.to_csv(quant, sep="\t", index=False)
    fails_with(["--quant", *samples.values(), "--gtf", gtf, "--outdir", tmp_path], capsys, "appears twice")


def test_summary_table_and_read_pairs(small, tmp_path):
    samples, gtf = small
    jsons = []
    for k, sample in enumerate(samples):
        path = tmp_path / f"{sample}.fastq_check.json"
        path.write_text(f'{{"sample": "{sample}", "read_pairs": {1000 + k}}}')
        jsons.append(path)
    run_cli(samples.values(), gtf, tmp_path, "--read-pairs", *jsons)
    table = pd.read_csv(tmp_path / "quant_summary_mqc.tsv", sep="\t", comment="#", index_col=0)
    assert table.loc["lib3", "read_pairs"] == 1003
    tpm = pd.read_csv(tmp_path / "gene_tpm.tsv", sep="\t", index_col=0)
    assert (table["genes_detected"] == (tpm >= 0.1).sum()).all()


def test_help_and_byte_identical_rerun(small, tmp_path):
    proc = subprocess.run(["tximport_genes.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--length-col" in proc.stdout
    samples, gtf = small
    run_cli(samples.values(), gtf, tmp_path / "a")
    run_cli(reversed(list(samples.values())), gtf, tmp_path / "b")  # input order does not matter
    for name in ("gene_counts.tsv", "gene_tpm.tsv", "gene_lengths.tsv", "quant_summary_mqc.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
