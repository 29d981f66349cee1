"""assemble_covariates.py and magelib.covariates: joins by sample ID, explicit coding, collinearity, the test world chain."""

from __future__ import annotations

import subprocess

import assemble_covariates
import hidden_factors
import normalize_expression
import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.cli import InputError, run
from magelib.covariates import assemble
from magelib.io import tables

INDIVIDUALS = [f"NA{i:05d}" for i in range(1, 31)]


def write_inputs(workdir, rng, order=None):
    """A phenotype BED (samples sorted), and eigenvec / factors / sample table / focal table each in its own shuffled order."""
    order = order or sorted(INDIVIDUALS)
    positions = pd.DataFrame(
        {"chr": ["chr1"] * 5, "start": range(0, 50, 10), "end": range(1, 51, 10)}, index=[f"G{i}" for i in range(5)]
    )
    tables.write_phenotype_bed(
        positions, pd.DataFrame(rng.normal(size=(5, len(order))), index=positions.index, columns=order), workdir / "pheno.bed.gz"
    )
    truth = pd.DataFrame(
        {
            "PC1": rng.normal(size=30),
            "PC2": rng.normal(size=30),
            "PC3": rng.normal(size=30),
            "expression_PC1": rng.normal(size=30),
            "expression_PC2": rng.normal(size=30),
            "sex": rng.choice(["female", "male"], size=30),
            "batch": rng.choice(["1", "2", "10"], size=30),
            "population": rng.choice(["YRI", "CEU"], size=30),
        },
        index=INDIVIDUALS,
    )
    truth.loc[INDIVIDUALS[:3], "batch"] = ["1", "2", "10"]  # every level present
    shuffled = lambda: list(rng.permutation(INDIVIDUALS))  # noqa: E731
    ids = shuffled()
    pd.DataFrame({"#IID": ids, **{c: truth.loc[ids, c] for c in ("PC1", "PC2", "PC3")}}).to_csv(
        workdir / "g.eigenvec", sep="\t", index=False
    )
    ids = shuffled()
    truth.loc[ids, ["expression_PC1", "expression_PC2"]].T.to_csv(workdir / "factors.tsv", sep="\t", index_label="id")
    ids = shuffled()
    libraries = {i: f"GM{i[2:]}" for i in INDIVIDUALS}
    extra = pd.DataFrame(
        {
            "sample": [f"{libraries[i]}-rep" for i in ids[:5]],
            "individual": ids[:5],
            "sex": truth.loc[ids[:5], "sex"],
            "batch": "999",
            "population": truth.loc[ids[:5], "population"],
        }
    )
    table = pd.DataFrame(
        {
            "sample": [libraries[i] for i in ids],
            "individual": ids,
            "sex": truth.loc[ids, "sex"],
            "batch": truth.loc[ids, "batch"],
            "population": truth.loc[ids, "population"],
        }
    )
    pd.concat([table, extra]).to_csv(workdir / "samples.tsv", sep="\t", index=False)  # replicate libraries must not be used
    ids = shuffled()
    pd.DataFrame({"individual": ids, "library": [libraries[i] for i in ids]}).to_csv(workdir / "focal.tsv", sep="\t", index=False)
    return truth


ARGS = [
    "--phenotypes",
    "pheno.bed.gz",
    "--genotype-pcs",
    "g.eigenvec",
    "--hidden-factors",
    "factors.tsv",
    "--samples",
    "samples.tsv",
    "--focal",
    "focal.tsv",
    "--prefix",
    "out",
]


@pytest.fixture
def run_cli(monkeypatch, capsys):
    def call(workdir, *extra, main=assemble_covariates.main, base=ARGS, check=True):
        monkeypatch.chdir(workdir)
        code = run(main, [*base, *extra])
        err = capsys.readouterr().err
        if check:
            assert code == 0, err
        return code, err

    return call


def test_covariates_follow_the_bed_order_by_id(tmp_path, run_cli):
    rng = np.random.default_rng(1)
    order = list(rng.permutation(INDIVIDUALS))  # a BED whose columns are not sorted either
    truth = write_inputs(tmp_path, rng, order=order)
    _, err = run_cli(tmp_path, "--n-genotype-pcs", "2", "--known-covariates", "sex,batch")
    table = pd.read_csv(tmp_path / "out.covariates.txt", sep="\t", index_col=0)
    assert list(table.columns) == order
    assert list(table.index) == ["genotype_PC1", "genotype_PC2", "expression_PC1", "expression_PC2", "sex", "batch_2", "batch_10"]
    for sample in order:
        assert table.loc["genotype_PC1", sample] == pytest.approx(truth.loc[sample, "PC1"], abs=1e-9)
        assert table.loc["expression_PC2", sample] == pytest.approx(truth.loc[sample, "expression_PC2"], abs=1e-9)
        assert table.loc["sex", sample] == (1.0 if truth.loc[sample, "sex"] == "male" else 0.0)
        assert table.loc["batch_10", sample] == float(truth.loc[sample, "batch"] == "10")
    assert "sex: female = 0 (reference), male = 1" in err and "batch: categorical, reference level '1'" in err


def test_sex_and_categorical_coding():
    meta = pd.DataFrame(
        {"sex": ["F", "male", "Female", "m"], "batch": ["b10", "b2", "b2", "b1"], "age": ["30", "41.5", "22", "60"]},
        index=["a", "b", "c", "d"],
    )
    coded, notes = assemble.encode_known(meta, ["sex", "batch", "age"], "table.tsv")
    assert coded.loc["sex"].tolist() == [0, 1, 0, 1]
    assert list(coded.index) == ["sex", "batch_b2", "batch_b10", "age"]  # reference b1 (natural order b1 < b2 < b10)
    assert coded.loc["batch_b10"].tolist() == [1, 0, 0, 0]
    assert coded.loc["age"].tolist() == [30, 41.5, 22, 60]
    assert notes[1] == "batch: categorical, reference level 'b1', dummies for b2, b10"


@pytest.mark.parametrize(
    ("meta", "column", "message"),
    [
        ({"sex": ["female", "unknown"]}, "sex", "individual 'b' has sex 'unknown'"),
        ({"sex": ["female", ""]}, "sex", "individual 'b' has no value for covariate 'sex'"),
        ({"sex": ["female", "male"]}, "batch", "known covariate 'batch' is not a column"),
    ],
)
def test_known_covariate_errors(meta, column, message):
    with pytest.raises(InputError, match=message):
        assemble.encode_known(pd.DataFrame(meta, index=["a", "b"]), [column], "table.tsv")


def edit_table(path, edit, sep="\t"):
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    edit(table).to_csv(path, sep=sep, index=False)


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        ("g.eigenvec", lambda t: t[t["#IID"] != "NA00007"], "g.eigenvec: sample 'NA00007' of the phenotype BED is missing"),
        ("factors.tsv", lambda t: t.drop(columns="NA00011"), "factors.tsv: sample 'NA00011' of the phenotype BED is missing"),
        ("focal.tsv", lambda t: t[t["individual"] != "NA00002"], "sample 'NA00002' of the phenotype BED is missing"),
        ("focal.tsv", lambda t: t.replace("GM00004", "GM99999"), "library 'GM99999' is not a sample in samples.tsv"),
        ("focal.tsv", lambda t: pd.concat([t, t.head(1)]), "duplicate individual"),
    ],
)
def test_missing_or_duplicate_ids_are_errors(tmp_path, run_cli, file, edit, message):
    write_inputs(tmp_path, np.random.default_rng(2))
    edit_table(tmp_path / file, edit)
    code, err = run_cli(tmp_path, "--n-genotype-pcs", "2", check=False)
    assert code == 1 and message in err, err
    assert not (tmp_path / "out.covariates.txt").exists()


def test_constant_covariate_is_dropped_with_a_warning(tmp_path, run_cli):
    write_inputs(tmp_path, np.random.default_rng(3))
    edit_table(tmp_path / "samples.tsv", lambda t: t.assign(sex="female"))
    _, err = run_cli(tmp_path, "--n-genotype-pcs", "2")
    assert "WARNING: covariate 'sex' has the same value in every sample" in err
    assert "sex" not in pd.read_csv(tmp_path / "out.covariates.txt", sep="\t", index_col=0).index


def test_collinear_covariates_are_an_error_naming_them(tmp_path, run_cli):
    truth = write_inputs(tmp_path, np.random.default_rng(4))
    edit_table(
        tmp_path / "samples.tsv",
        lambda t: t.assign(
            score=[
                str(2 * truth.loc[i, "PC1"] - 3 * truth.loc[i, "PC2"] + 1) if i in truth.index else "0" for i in t["individual"]
            ]
        ),
    )
    code, err = run_cli(tmp_path, "--n-genotype-pcs", "3", "--known-covariates", "sex,score", check=False)
    assert code == 1
    assert "'score' is a linear combination of the intercept, 'genotype_PC1', 'genotype_PC2'" in err, err


def test_too_many_covariates_or_pcs_are_errors(tmp_path, run_cli):
    write_inputs(tmp_path, np.random.default_rng(5))
    code, err = run_cli(tmp_path, "--n-genotype-pcs", "4", check=False)
    assert code == 1 and "4 genotype PCs requested but only 3 computed" in err
    many = pd.DataFrame(np.random.default_rng(6).normal(size=(27, 30)), index=[f"f{i}" for i in range(27)], columns=INDIVIDUALS)
    many.to_csv(tmp_path / "factors.tsv", sep="\t", index_label="id")
    code, err = run_cli(tmp_path, "--n-genotype-pcs", "2", check=False)
    assert code == 1 and "30 covariates for 30 samples leave -2 residual degrees of freedom" in err


def test_zero_hidden_factors_and_no_known_covariates(tmp_path, run_cli):
    write_inputs(tmp_path, np.random.default_rng(7))
    (tmp_path / "factors.tsv").write_text("id\t" + "\t".join(INDIVIDUALS) + "\n")
    run_cli(tmp_path, "--n-genotype-pcs", "1", "--known-covariates", "")
    assert list(pd.read_csv(tmp_path / "out.covariates.txt", sep="\t", index_col=0).index) == ["genotype_PC1"]


def test_script_help():
    proc = subprocess.run(["assemble_covariates.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--known-covariates" in proc.stdout


# ------------------------------------------------------------------------------------------ the test world chain


def between_group_share(points: np.ndarray, groups: np.ndarray) -> float:
    """Share of the total sum of squares explained by group means (1 = perfectly separated groups)."""
    centre = points.mean(axis=0)
    between = sum(len(sel) * ((sel.mean(axis=0) - centre) ** 2).sum() for sel in (points[groups == g] for g in np.unique(groups)))
    return between / ((points - centre) ** 2).sum()


def world_matrices(world, workdir, rng):
    """Focal gene matrices (individuals in a shuffled order) from the test world's simulated read counts."""
    sheet = pd.read_csv(world / "samplesheet.csv")
    sheet.iloc[rng.permutation(len(sheet))].to_csv(workdir / "samples.tsv", sep="\t", index=False)
    focal = (
        sheet.sort_values("sample").drop_duplicates("individual")[["individual", "sample"]].rename(columns={"sample": "library"})
    )
    focal.iloc[rng.permutation(len(focal))].to_csv(workdir / "focal.tsv", sep="\t", index=False)
    reads = pd.read_csv(world / "truth" / "gene_read_pairs.tsv", sep="\t", index_col=0).astype(float)
    counts = reads[focal["library"]].set_axis(focal["individual"].tolist(), axis=1)
    counts = counts[list(rng.permutation(counts.columns))]
    genes = pd.read_csv(world / "truth" / "genes.tsv", sep="\t", index_col=0)
    lengths = pd.DataFrame(
        np.outer((genes["end"] - genes["start"] + 1).loc[counts.index], np.ones(counts.shape[1])),
        index=counts.index,
        columns=counts.columns,
    )
    tpm = counts / lengths / (counts / lengths).sum() * 1e6
    for name, table in (("counts", counts), ("tpm", tpm), ("lengths", lengths)):
        table.to_csv(workdir / f"{name}.tsv", sep="\t", index_label="gene_id")
    return sheet, focal


def test_world_chain_separates_populations_and_aligns_by_id(test_world, tmp_path, run_cli):
    """normalize -> plink2 PCA (as conf/modules/phenotypes.config) -> hidden factors -> assemble, inputs in shuffled orders."""
    require_tool("plink2", "bgzip", "tabix")
    sheet, focal = world_matrices(test_world, tmp_path, np.random.default_rng(8))
    run_cli(
        tmp_path,
        main=normalize_expression.main,
        base=[
            "--counts",
            "counts.tsv",
            "--tpm",
            "tpm.tsv",
            "--lengths",
            "lengths.tsv",
            "--gtf",
            str(test_world / "reference" / "genes.gtf"),
            "--prefix",
            "expr",
        ],
    )
    (tmp_path / "keep.txt").write_text("\n".join(focal["individual"]) + "\n")
    vcf = test_world / "genotypes" / "genotypes.vcf.gz"
    for args in (
        [
            "--vcf",
            str(vcf),
            "--keep",
            "keep.txt",
            "--max-alleles",
            "2",
            "--snps-only",
            "--autosome",
            "--maf",
            "0.01",
            "--set-all-var-ids",
            "@:#:$r:$a",
            "--make-pgen",
            "--out",
            "g",
        ],
        ["--pfile", "g", "--indep-pairwise", "200", "20", "0.2", "--out", "g"],
        ["--pfile", "g", "--extract", "g.prune.in", "--pca", "20", "--seed", "1", "--out", "g"],
    ):
        subprocess.run(["plink2", "--threads", "1", *args], cwd=tmp_path, check=True, capture_output=True)
    run_cli(
        tmp_path,
        main=hidden_factors.main,
        base=["--phenotypes", "expr.inverse_normal_tmm.bed.gz", "--samples", "samples.tsv", "--prefix", "expr"],
    )
    run_cli(
        tmp_path,
        "--known-covariates",
        "sex,batch",
        base=[
            "--phenotypes",
            "expr.inverse_normal_tmm.bed.gz",
            "--genotype-pcs",
            "g.eigenvec",
            "--hidden-factors",
            "expr.hidden_factors.tsv",
            "--samples",
            "samples.tsv",
            "--focal",
            "focal.tsv",
            "--prefix",
            "expr",
        ],
    )

    table = pd.read_csv(tmp_path / "expr.covariates.txt", sep="\t", index_col=0)
    bed_samples = assemble.bed_samples(tmp_path / "expr.inverse_normal_tmm.bed.gz")
    assert list(table.columns) == bed_samples == sorted(focal["individual"])
    eigenvec = pd.read_csv(tmp_path / "g.eigenvec", sep="\t", index_col=0)
    np.testing.assert_allclose(table.loc["genotype_PC1"], eigenvec.loc[bed_samples, "PC1"], atol=1e-9)
    sex = sheet.drop_duplicates("individual").set_index("individual")["sex"]
    assert table.loc["sex"].tolist() == [float(sex[s] == "male") for s in bed_samples]

    population = pd.read_csv(test_world / "genotypes" / "individuals.tsv", sep="\t", index_col=0)["population"]
    points = eigenvec.loc[bed_samples, ["PC1", "PC2"]].to_numpy()
    assert between_group_share(points, population.loc[bed_samples].to_numpy()) > 0.6
    shuffled = np.random.default_rng(0).permutation(population.loc[bed_samples].to_numpy())
    assert between_group_share(points, shuffled) < 0.2

    require_tool("multiqc")
    subprocess.run(["multiqc", "--force", "--quiet", "."], cwd=tmp_path, check=True, capture_output=True)
    found = (tmp_path / "multiqc_data" / "multiqc_data.json").read_text()
    for section in ("mage_expression_gene_filter", "mage_expression_pca", "mage_expression_pca_variance", "mage_genotype_pca"):
        assert f'"{section}_plot"' in found
