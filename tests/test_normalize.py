"""normalize_expression.py and magelib.phenotypes.normalize: gene filter, chromosome sets, INT and the phenotype BEDs.

References are closed forms and hand-checked fixtures; TMM and DESeq2 are checked against R in test_tmm_edger.py
and test_deseq2.py.
"""

from __future__ import annotations

import gzip
import subprocess
from statistics import NormalDist

import normalize_expression
import numpy as np
import pandas as pd
import pytest

from magelib.cli import InputError, run
from magelib.phenotypes import normalize

# gene_id, chrom, start, end, strand: hand-placed so the BED order and TSS rule are known in advance.
GENES = [
    ("gA", "chr1", 1000, 2000, "+"),  # TSS 1000 -> BED 999-1000
    ("gB", "chr1", 5000, 6000, "-"),  # TSS 6000 -> 5999-6000
    ("gH", "chr1", 500, 700, "+"),  # TSS 500, first on chr1
    ("gC", "chr2", 300, 900, "+"),
    ("gG", "chr10", 50, 60, "+"),  # chr10 sorts after chr2
    ("gD", "chrX", 100, 400, "-"),  # TSS 400
    ("gE", "chrY", 10, 50, "+"),  # dropped by autosomes_x
    ("gF", "chrM", 1, 30, "+"),  # dropped by autosomes_x
    ("gLow", "chr1", 8000, 9000, "+"),  # lowly expressed: dropped by the filter
]
EXPECTED_ORDER = [
    ("chr1", 499, "gH"),
    ("chr1", 999, "gA"),
    ("chr1", 5999, "gB"),
    ("chr2", 299, "gC"),
    ("chr10", 49, "gG"),
    ("chrX", 399, "gD"),
]
SAMPLES = ["S3", "S1", "S10", "S2", "S7", "S5", "S4", "S9", "S6", "S8"]


def write_gtf(path, genes=GENES):
    lines = ["##format: gtf"]
    for gene_id, chrom, start, end, strand in genes:
        lines.append(f'{chrom}\tTEST\tgene\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{gene_id}"; gene_name "{gene_id}";')
        lines.append(
            f'{chrom}\tTEST\ttranscript\t{start}\t{end}\t.\t{strand}\t.\tgene_id "{gene_id}"; transcript_id "{gene_id}.t";'
        )
    path.write_text("\n".join(lines) + "\n")


def make_matrices(seed=1):
    """Distinct non-integer counts (no ties, so the INT values are known), TPM and lengths for GENES x SAMPLES."""
    rng = np.random.default_rng(seed)
    genes = [g[0] for g in GENES]
    base = rng.uniform(50, 500, size=len(genes))
    base[genes.index("gLow")] = 0.5
    counts = np.outer(base, rng.uniform(0.5, 2, len(SAMPLES))) + rng.uniform(0, 1, (len(genes), len(SAMPLES)))
    lengths = np.outer(rng.uniform(500, 3000, len(genes)), np.ones(len(SAMPLES))) * rng.uniform(0.9, 1.1, counts.shape)
    rate = counts / lengths
    tpm = rate / rate.sum(axis=0) * 1e6
    frame = lambda values: pd.DataFrame(values, index=pd.Index(genes, name="gene_id"), columns=SAMPLES)  # noqa: E731
    return frame(counts), frame(tpm), frame(lengths)


@pytest.fixture
def inputs(tmp_path):
    counts, tpm, lengths = make_matrices()
    for name, table in (("counts", counts), ("tpm", tpm), ("lengths", lengths)):
        table.to_csv(tmp_path / f"{name}.tsv", sep="\t", float_format="%.17g")
    write_gtf(tmp_path / "genes.gtf")
    return tmp_path


ARGS = ["--counts", "counts.tsv", "--tpm", "tpm.tsv", "--lengths", "lengths.tsv", "--gtf", "genes.gtf", "--prefix", "out"]


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run the CLI in-process (as ``magelib.cli.run`` does for the script); return (exit code, stderr)."""

    def call(workdir, *extra, check=True, base=ARGS):
        monkeypatch.chdir(workdir)
        code = run(normalize_expression.main, [*base, *extra])
        err = capsys.readouterr().err
        if check:
            assert code == 0, err
        return code, err

    return call


def read_bed(path):
    with gzip.open(path, "rt") as handle:
        return pd.read_csv(handle, sep="\t")


# ------------------------------------------------------------------------------------------ filter


def test_filter_threshold_is_compared_as_a_real_number():
    """MAGE: rowCounts(x >= 6) >= 0.2 * N. With N = 10 two samples suffice; with N = 7 (1.4) two are needed too."""
    counts = np.array([[6, 6, 0, 0, 0, 0, 0, 0, 0, 0], [6, 5.99, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=float)
    tpm = np.full_like(counts, 1.0)
    assert list(normalize.expressed_genes(counts, tpm, 6, 0.1, 0.2)["keep"]) == [True, False]
    seven = np.array([[9, 0, 0, 0, 0, 0, 0], [9, 9, 0, 0, 0, 0, 0]], dtype=float)
    assert list(normalize.expressed_genes(seven, np.ones_like(seven), 6, 0.1, 0.2)["keep"]) == [False, True]


def test_count_and_tpm_conditions_are_counted_separately():
    """A gene passing counts in samples 1-2 and TPM in samples 3-4 is kept (the two conditions are independent)."""
    counts = np.array([[10, 10, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=float)
    tpm = np.array([[0, 0, 0.1, 0.1, 0, 0, 0, 0, 0, 0]], dtype=float)
    report = normalize.expressed_genes(counts, tpm, 6, 0.1, 0.2)
    assert report["keep"].tolist() == [True]
    assert report["n_counts"].tolist() == [2] and report["n_tpm"].tolist() == [2]
    assert normalize.expressed_genes(counts, tpm * 0.99, 6, 0.1, 0.2)["keep"].tolist() == [False]


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("autosomes_x", [True, True, True, True, True, False, False, False, False]),
        ("autosomes", [True, True, True, False, False, False, False, False, False]),
        ("all", [True] * 9),
    ],
)
def test_chromosome_sets_accept_both_naming_styles(which, expected):
    chroms = ["chr1", "1", "chr22", "chrX", "X", "chrY", "chrM", "MT", "KI270728.1"]
    assert normalize.chromosome_allowed(chroms, which).tolist() == expected


def test_unknown_chromosome_set_is_an_error():
    with pytest.raises(InputError, match="unknown chromosome set"):
        normalize.chromosome_allowed(["chr1"], "autosomes_y")


# ------------------------------------------------------------------------------------------ INT


def test_inverse_normal_transform_closed_form_with_ties():
    """Phi^-1(rank / (N + 1)) with average ranks; reference quantiles from the standard library's NormalDist."""
    values = np.array([[3.0, 1.0, 2.0, 2.0]])  # ranks 4, 1, 2.5, 2.5 out of N = 4
    expected = [NormalDist().inv_cdf(r / 5) for r in (4, 1, 2.5, 2.5)]
    np.testing.assert_allclose(normalize.inverse_normal_transform(values)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(
        normalize.inverse_normal_transform(np.array([[1.0, 2.0, 3.0]]))[0],
        [-0.6744897501960817, 0, 0.6744897501960817],
        atol=1e-15,
    )


def test_inverse_normal_transform_is_per_gene():
    values = np.array([[1.0, 2.0, 3.0], [300.0, 200.0, 100.0]])
    result = normalize.inverse_normal_transform(values)
    np.testing.assert_allclose(result[1], result[0][::-1])


# ------------------------------------------------------------------------------------------ CLI and BEDs


def test_script_help_and_error_exit(inputs):
    """As a script: --help works; bad input exits 1 with a one-line ERROR and no traceback."""
    proc = subprocess.run(["normalize_expression.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--min-sample-frac" in proc.stdout
    proc = subprocess.run(
        ["normalize_expression.py", *ARGS[:-2], "--prefix", "out", "--min-counts", "1e9"],
        cwd=inputs,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and proc.stderr.startswith("ERROR: ") and "Traceback" not in proc.stderr


def test_beds_rows_coordinates_and_sample_order(inputs, run_cli):
    run_cli(inputs)
    counts, _, _ = make_matrices()
    for name in ("inverse_normal_tmm", "tmm", "counts", "deseq2_log2"):
        bed = read_bed(inputs / f"out.{name}.bed.gz")
        assert list(bed.columns[:4]) == ["#chr", "start", "end", "phenotype_id"]
        assert list(bed.columns[4:]) == sorted(SAMPLES)
        assert list(zip(bed["#chr"], bed["start"], bed["phenotype_id"], strict=True)) == EXPECTED_ORDER
        assert (bed["end"] - bed["start"]).eq(1).all()
        assert (inputs / f"out.{name}.bed.gz.tbi").exists()
    raw = read_bed(inputs / "out.counts.bed.gz").set_index("phenotype_id").iloc[:, 3:]
    pd.testing.assert_frame_equal(raw, counts.loc[raw.index, raw.columns], check_names=False, rtol=1e-9)
    region = subprocess.run(
        ["tabix", str(inputs / "out.tmm.bed.gz"), "chr1:1000-1000"], capture_output=True, text=True, check=True
    )
    assert [line.split("\t")[3] for line in region.stdout.splitlines()] == ["gA"]


def test_inverse_normal_rows_are_the_normal_scores(inputs, run_cli):
    """Without ties every INT row is a permutation of Phi^-1(i / (N + 1)), ordered like the TMM row."""
    run_cli(inputs)
    n = len(SAMPLES)
    scores = np.array([NormalDist().inv_cdf(i / (n + 1)) for i in range(1, n + 1)])
    tmm = read_bed(inputs / "out.tmm.bed.gz").iloc[:, 4:].to_numpy()
    int_values = read_bed(inputs / "out.inverse_normal_tmm.bed.gz").iloc[:, 4:].to_numpy()
    for tmm_row, int_row in zip(tmm, int_values, strict=True):
        np.testing.assert_allclose(int_row, scores[np.argsort(np.argsort(tmm_row))], atol=1e-9)


def test_tmm_and_deseq2_use_all_genes_before_filtering(inputs, run_cli):
    """Library sizes and factors include the genes the filter drops (MAGE §5 #8): BED values match the all-gene computation."""
    run_cli(inputs)
    counts, _, lengths = make_matrices()
    ordered = sorted(SAMPLES)
    values = counts[ordered].to_numpy()
    tmm = pd.DataFrame(normalize.tmm_cpm(values, normalize.tmm_factors(values)), index=counts.index, columns=ordered)
    bed = read_bed(inputs / "out.tmm.bed.gz").set_index("phenotype_id").iloc[:, 3:]
    np.testing.assert_allclose(bed.to_numpy(), tmm.loc[bed.index].to_numpy(), rtol=1e-9)
    lib = pd.read_csv(inputs / "out.tmm_factors.tsv", sep="\t", index_col=0)
    np.testing.assert_allclose(lib.loc[ordered, "lib_size"], values.sum(axis=0), rtol=1e-9)
    deseq = normalize.deseq2_normalized_log(values, lengths[ordered].to_numpy())
    bed = read_bed(inputs / "out.deseq2_log2.bed.gz").set_index("phenotype_id").iloc[:, 3:]
    np.testing.assert_allclose(bed.to_numpy(), pd.DataFrame(deseq, index=counts.index).loc[bed.index].to_numpy(), rtol=1e-9)


def test_gene_filter_report_and_chromosome_choice(inputs, run_cli):
    run_cli(inputs, "--chromosomes", "all")
    ids = read_bed(inputs / "out.counts.bed.gz")["phenotype_id"].tolist()
    assert {"gE", "gF"} <= set(ids) and "gLow" not in ids
    report = pd.read_csv(inputs / "out.gene_filter.tsv", sep="\t", index_col=0)
    assert report.loc["gLow", "kept"] == False  # noqa: E712
    assert report.loc["gLow", "samples_min_counts"] == 0
    run_cli(inputs, "--chromosomes", "autosomes")
    assert "gD" not in read_bed(inputs / "out.counts.bed.gz")["phenotype_id"].tolist()


def test_input_order_does_not_change_outputs(inputs, run_cli, tmp_path_factory):
    run_cli(inputs)
    shuffled = tmp_path_factory.mktemp("shuffled")
    rng = np.random.default_rng(2)
    for name in ("counts", "tpm", "lengths"):
        table = pd.read_csv(inputs / f"{name}.tsv", sep="\t", index_col=0)
        table = table.iloc[rng.permutation(len(table)), rng.permutation(table.shape[1])]
        table.to_csv(shuffled / f"{name}.tsv", sep="\t", float_format="%.17g")
    (shuffled / "genes.gtf").write_text((inputs / "genes.gtf").read_text())
    run_cli(shuffled)
    for name in ("inverse_normal_tmm", "tmm", "counts", "deseq2_log2"):
        assert (inputs / f"out.{name}.bed.gz").read_bytes() == (shuffled / f"out.{name}.bed.gz").read_bytes()


def test_rerun_is_byte_identical(inputs, run_cli):
    run_cli(inputs)
    first = {p.name: p.read_bytes() for p in inputs.glob("out.*")}
    run_cli(inputs)
    assert first == {p.name: p.read_bytes() for p in inputs.glob("out.*")}


def corrupt(inputs, names, edit):
    for name in names.split(","):
        table = edit(pd.read_csv(inputs / f"{name}.tsv", sep="\t", index_col=0))
        table.to_csv(inputs / f"{name}.tsv", sep="\t", float_format="%.17g")


def set_value(gene, sample, value):
    def edit(table):
        table.loc[gene, sample] = value
        return table

    return edit


BAD_INPUTS = {
    "nan_count": ("counts", set_value("gB", "S2", np.nan), "non-finite value nan at row 'gB', column 'S2'"),
    "inf_tpm": ("tpm", set_value("gC", "S7", np.inf), "non-finite value inf at row 'gC', column 'S7'"),
    "negative_count": ("counts", set_value("gA", "S4", -1.0), "negative value -1.0 at gene 'gA', sample 'S4'"),
    "zero_length": ("lengths", set_value("gD", "S1", 0.0), "gene 'gD', sample 'S1' must be > 0"),
    "gene_not_in_gtf": (
        "counts,tpm,lengths",
        lambda t: t.rename(index={"gC": "gNotInGtf"}),
        "gene 'gNotInGtf' is absent from the GTF",
    ),
    "duplicate_gene": ("counts", lambda t: t.rename(index={"gC": "gA"}), "duplicate feature ID 'gA'"),
    "tpm_missing_sample": ("tpm", lambda t: t.drop(columns="S5"), "sample 'S5' of counts.tsv is missing"),
    "empty_library": ("counts", lambda t: t.assign(S9=0.0), "sample 'S9' has no counts at all"),
    "nothing_expressed": ("counts", lambda t: t * 0 + 1, "no gene passes the expression filter"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_a_clear_error_and_writes_nothing(inputs, run_cli, case):
    name, edit, message = BAD_INPUTS[case]
    corrupt(inputs, name, edit)
    code, err = run_cli(inputs, check=False)
    assert code == 1
    assert err.startswith("ERROR: ") and message in err, err
    assert not list(inputs.glob("out.*"))


def test_duplicate_sample_column_is_an_error(inputs, run_cli):
    text = (inputs / "counts.tsv").read_text().splitlines()
    text[0] = text[0].replace("S7", "S1")
    (inputs / "counts.tsv").write_text("\n".join(text) + "\n")
    code, err = run_cli(inputs, check=False)
    assert code == 1 and "duplicate sample column 'S1'" in err, err


def test_without_lengths_deseq2_uses_plain_size_factors(inputs, run_cli):
    run_cli(inputs, base=["--counts", "counts.tsv", "--tpm", "tpm.tsv", "--gtf", "genes.gtf", "--prefix", "out"])
    counts, _, _ = make_matrices()
    ordered = sorted(SAMPLES)
    expected = pd.DataFrame(normalize.deseq2_normalized_log(counts[ordered].to_numpy()), index=counts.index)
    bed = read_bed(inputs / "out.deseq2_log2.bed.gz").set_index("phenotype_id").iloc[:, 3:]
    np.testing.assert_allclose(bed.to_numpy(), expected.loc[bed.index].to_numpy(), rtol=1e-9)
