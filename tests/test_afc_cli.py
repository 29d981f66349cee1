"""bin/afc.py (aFC-n CLI, magelib.finemap.afc_run): planted haplotype effects recovered through a phased VCF, a BED and
covariates with a planted effect; chrX PAR filter; status table; bad input; byte-identical reruns."""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import BIN, require_tool
from magelib.cli import run as run_cli
from magelib.finemap import afc
from magelib.finemap.afc_run import AfcSettings, read_eqtls, run_afc
from magelib.io.tools import bgzip, tabix

N = 300
N_MISSING = 5  # GENE_UP: samples with a missing GT
N_HAPLOID = 20  # chrX: samples with haploid calls (hap2dip)
COV_EFFECT = {"cont": 0.8, "batch_b": 0.6}
GENES = {  # gene: (chrom, BED start, [(pos, VCF ID, eQTL variant_id, ref, alt, log2 aFC)], c0)
    "GENE_UP": ("chr1", 1_000_000, [(1_000_100, ".", "chr1_1000100_A_G", "A", "G", 1.0)], 5.0),
    "GENE_TWO": (
        "chr1",
        2_000_000,
        [(2_000_050, ".", "chr1_2000050_C_T", "C", "T", -0.5), (2_000_500, "rs777", "rs777", "G", "A", 0.8)],
        4.0,
    ),
    "GENE_NULL": ("chr2", 500_000, [(500_010, ".", "chr2_500010_G_A", "G", "A", 0.0)], 3.0),
    "GENE_FAIL": ("chr2", 800_000, [(800_010, ".", "chr2_800010_C_G", "C", "G", 0.0)], 3.0),  # every GT missing
    "GENE_PAR": ("chrX", 1_000_000, [(1_000_200, ".", "chrX_1000200_T_C", "T", "C", 0.7)], 4.0),
    "GENE_NONPAR": ("chrX", 50_000_000, [(50_000_100, ".", "chrX_50000100_A_C", "A", "C", 0.5)], 4.0),
}
FITTED = ["GENE_UP", "GENE_TWO", "GENE_NULL", "GENE_PAR"]
CONTIGS = {"chr1": 10_000_000, "chr2": 10_000_000, "chrX": 156_040_895}


def afc_cli():
    """bin/afc.py as a module (its name would clash with nothing, but load it by path to be explicit)."""
    spec = importlib.util.spec_from_file_location("afc_cli", BIN / "afc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def vcf_text(records: list[tuple], vcf_samples: list[str]) -> str:
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in CONTIGS.items()]
    lines += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    lines += ["\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *vcf_samples])]
    for chrom, pos, vid, ref, alt, calls in records:
        lines.append("\t".join([chrom, str(pos), vid, ref, alt, ".", "PASS", ".", "GT", *calls]))
    return "\n".join(lines) + "\n"


def write_inputs(folder: Path, world: dict, *, vcf: str | None = None, bed: pd.DataFrame | None = None, eqtls: str | None = None):
    """The world's inputs (or the given replacements) in ``folder``; returns the afc.py arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "phased.vcf"
    plain.write_text(vcf if vcf is not None else world["vcf"])
    bgzip(plain, folder / "phased.vcf.gz")
    plain.unlink()
    tabix(folder / "phased.vcf.gz", preset="vcf")
    with gzip.open(folder / "expr.bed.gz", "wt") as handle:
        (bed if bed is not None else world["bed"]).to_csv(handle, sep="\t", index=False, float_format="%.10g")
    (folder / "covariates.txt").write_text(world["covariates"])
    (folder / "eqtls.tsv").write_text(eqtls if eqtls is not None else world["eqtls"])
    return [
        "--vcf", folder / "phased.vcf.gz", "--phenotypes", folder / "expr.bed.gz", "--covariates", folder / "covariates.txt",
        "--eqtls", folder / "eqtls.tsv", "--out", folder / "out",
    ]  # fmt: skip


def build_world(seed: int = 1) -> dict:
    """Phased genotypes with planted aFC effects, expression with a planted covariate effect, the input texts."""
    rng = np.random.default_rng(seed)
    samples = [f"S{i:03d}" for i in range(1, N + 1)]
    cont, noise = rng.normal(size=N), rng.normal(size=N)
    batch = np.where(rng.random(N) < 0.5, "a", "b")
    haploid = np.zeros(N, dtype=bool)
    haploid[rng.choice(N, N_HAPLOID, replace=False)] = True
    order = rng.permutation(N)  # the VCF and the covariates list samples in other orders, with extra samples
    vcf_samples = [samples[i] for i in order] + ["EXTRA1", "EXTRA2"]
    records, expression = [], {}
    for gene, (chrom, _, variants, c0) in GENES.items():
        h1 = (rng.random((N, len(variants))) < 0.35).astype(float)
        h2 = (rng.random((N, len(variants))) < 0.35).astype(float)
        if chrom == "chrX":
            h2[haploid] = h1[haploid]
        s = np.array([v[5] for v in variants])
        expression[gene] = (
            afc.afc_model(s, c0, h1, h2)
            + COV_EFFECT["cont"] * cont
            + COV_EFFECT["batch_b"] * (batch == "b")
            + rng.normal(0.0, 0.3, N)
        )
        for j, (pos, vid, _, ref, alt, _) in enumerate(variants):
            calls = [f"{int(a)}|{int(b)}" for a, b in zip(h1[:, j], h2[:, j], strict=True)]
            if chrom == "chrX":
                calls = [str(int(h1[i, j])) if haploid[i] else c for i, c in enumerate(calls)]
            if gene == "GENE_UP":
                calls[:N_MISSING] = ["./."] * N_MISSING
            if gene == "GENE_FAIL":
                calls = ["./."] * N
            by_sample = dict(zip(samples, calls, strict=True))
            by_sample["EXTRA1"] = by_sample["EXTRA2"] = "0|1"
            records.append((chrom, pos, vid, ref, alt, [by_sample[x] for x in vcf_samples]))
    records.sort(key=lambda r: (list(CONTIGS).index(r[0]), r[1]))
    bed_rows = [(c, start, start + 1, g) for g, (c, start, _, _) in GENES.items()] + [("chr2", 900_000, 900_001, "GENE_OTHER")]
    bed = pd.DataFrame(bed_rows, columns=["#chr", "start", "end", "phenotype_id"])
    values = pd.DataFrame([expression.get(g, rng.normal(3.0, 1.0, N)) for g in bed["phenotype_id"]], columns=samples).reset_index(
        drop=True
    )
    bed = pd.concat([bed, values], axis=1)
    bed = bed.iloc[np.lexsort((bed["start"], bed["#chr"]))].reset_index(drop=True)
    cov_samples = [samples[i] for i in rng.permutation(N)] + ["EXTRA1"]
    column = {s: i for i, s in enumerate(samples)}
    cov_lines = ["\t".join(["id", *cov_samples])]
    for name, row in (("cont", cont), ("noise", noise)):
        cov_lines.append("\t".join([name, *(f"{row[column[s]]:.8f}" if s in column else "0" for s in cov_samples)]))
    cov_lines.append("\t".join(["batch", *(batch[column[s]] if s in column else "a" for s in cov_samples)]))
    eqtl_lines = ["gene_id\tvariant_id"] + [f"{g}\t{v[2]}" for g, (_, _, variants, _) in GENES.items() for v in variants]
    return {
        "samples": samples,
        "records": records,
        "vcf_samples": vcf_samples,
        "vcf": vcf_text(records, vcf_samples),
        "bed": bed,
        "covariates": "\n".join(cov_lines) + "\n",
        "eqtls": "\n".join(eqtl_lines) + "\n",
    }


@pytest.fixture(scope="module")
def world() -> dict:
    require_tool("bgzip", "tabix")
    return build_world()


@pytest.fixture(scope="module")
def outputs(world, tmp_path_factory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("afc")
    args = write_inputs(folder, world)
    proc = run(BIN / "afc.py", *args)
    assert proc.returncode == 0, proc.stderr
    return folder, args


def read_outputs(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.read_csv(folder / "out.afc.txt.gz", sep="\t", na_values=["NA"], keep_default_na=False)
    status = pd.read_csv(folder / "out.afc_status.tsv", sep="\t", na_values=["NA"], keep_default_na=False)
    return table, status


def test_planted_effects_recovered_and_covered(outputs):
    table, _ = read_outputs(outputs[0])
    assert list(table.columns) == list(afc.OUTPUT_COLUMNS)
    expected = [(g, v[2], c, v[0]) for g, (c, _, variants, _) in GENES.items() for v in variants]
    assert list(table[["gene_id", "variant_id", "variant_chr", "variant_pos"]].itertuples(index=False, name=None)) == expected
    fitted = table[table["gene_id"].isin(FITTED)]
    truth = np.array([v[5] for g in FITTED for v in GENES[g][2]])
    estimate, se = fitted["log2_aFC"].to_numpy(), fitted["log2_aFC_error"].to_numpy()
    assert np.all(np.abs(estimate - truth) < 4 * se), (estimate, se)
    assert np.all(se < 0.1)
    assert np.all((fitted["log2_aFC_min_95_interv"] < truth) & (truth < fitted["log2_aFC_plus_95_interv"]))
    c0_truth = np.array([GENES[g][3] for g in FITTED for _ in GENES[g][2]])  # the covariate means are not removed
    assert np.all(np.isfinite(fitted["log2_aFC_c0"])) and np.all(np.abs(fitted["log2_aFC_c0"] - c0_truth) < 1.0)
    null = table.set_index("gene_id").loc["GENE_NULL"]
    assert null["log2_aFC_min_95_interv"] < 0 < null["log2_aFC_plus_95_interv"]
    assert table.loc[~table["gene_id"].isin(FITTED), list(afc.RESULT_COLUMNS)].isna().all().all()


def test_status_lists_every_gene(outputs):
    _, status = read_outputs(outputs[0])
    assert list(status.columns) == ["gene_id", "status", "reason", "n_samples"]
    assert list(status["gene_id"]) == list(GENES)  # GENE_OTHER (BED only) is not an eQTL gene
    by_gene = status.set_index("gene_id")
    assert set(by_gene.index[by_gene["status"] == "ok"]) == set(FITTED)
    assert by_gene.at["GENE_UP", "n_samples"] == N - N_MISSING
    assert by_gene.loc[["GENE_TWO", "GENE_NULL", "GENE_PAR"], "n_samples"].tolist() == [N] * 3
    assert by_gene.at["GENE_NONPAR", "status"] == "skipped"
    assert "outside the pseudo-autosomal regions" in by_gene.at["GENE_NONPAR", "reason"]
    assert "chrX_50000100_A_C" in by_gene.at["GENE_NONPAR", "reason"]
    assert by_gene.at["GENE_FAIL", "status"] == "failed" and by_gene.at["GENE_FAIL", "reason"]
    assert by_gene.loc[["GENE_NONPAR", "GENE_FAIL"], "n_samples"].isna().all()


def test_rerun_is_byte_identical(outputs):
    folder, args = outputs
    before = {name: (folder / name).read_bytes() for name in ("out.afc.txt.gz", "out.afc_status.tsv")}
    proc = run(BIN / "afc.py", *args)
    assert proc.returncode == 0, proc.stderr
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not list(folder.glob(".*tmp*"))


def test_positions_given_no_correction_and_chrx_policy(world, outputs, tmp_path):
    """In process: explicit variant_chr/variant_pos give the same table; without the covariate correction the
    planted covariate effect inflates the errors; --no-chrx-par-only fits the non-PAR gene."""
    folder = outputs[0]
    table, _ = read_outputs(folder)
    explicit = tmp_path / "eqtls.tsv"
    table[["gene_id", "variant_id", "variant_chr", "variant_pos"]].to_csv(explicit, sep="\t", index=False)
    assert read_eqtls(str(explicit))["variant_pos"].tolist() == table["variant_pos"].tolist()
    inputs = (str(folder / "phased.vcf.gz"), str(folder / "expr.bed.gz"), str(folder / "covariates.txt"), str(explicit))
    again, _ = run_afc(*inputs, AfcSettings())
    pd.testing.assert_frame_equal(again, table, check_exact=False, rtol=1e-9, check_dtype=False)
    raw, raw_status = run_afc(*inputs[:2], None, inputs[3], AfcSettings(correct=False, chrx_par_only=False, interval="wald"))
    assert set(raw_status.loc[raw_status["status"] == "ok", "gene_id"]) == set(FITTED) | {"GENE_NONPAR"}
    fitted = table["gene_id"].isin(FITTED)
    assert np.all(raw.loc[fitted, "log2_aFC_error"].to_numpy() > 1.5 * table.loc[fitted, "log2_aFC_error"].to_numpy())


def replace_call(world: dict, variant_pos: int, sample: str, call: str) -> str:
    records = []
    for chrom, pos, vid, ref, alt, calls in world["records"]:
        if pos == variant_pos:
            calls = list(calls)
            calls[world["vcf_samples"].index(sample)] = call
        records.append((chrom, pos, vid, ref, alt, calls))
    return vcf_text(records, world["vcf_samples"])


def bad_inputs(world: dict) -> dict:
    """name: (replacement inputs, text the message must contain)."""
    bed_extra = world["bed"].copy()
    bed_extra["S999"] = 1.0
    vcf_dropped = vcf_text(
        [(*r[:5], r[5][:-3] + r[5][-2:]) for r in world["records"]], world["vcf_samples"][:-3] + world["vcf_samples"][-2:]
    )
    dropped = world["vcf_samples"][-3]
    eqtls = world["eqtls"]
    return {
        "unphased_het": (
            {"vcf": replace_call(world, 1_000_100, "S042", "0/1")},
            ["S042", "chr1_1000100_A_G", "unphased"],
        ),
        "bed_sample_missing_from_vcf": ({"bed": bed_extra}, ["S999", "not in the VCF"]),
        "bed_sample_missing_from_vcf_2": ({"vcf": vcf_dropped}, [dropped, "not in the VCF"]),
        "variant_not_in_vcf": ({"eqtls": eqtls + "GENE_NULL\tchr2_500011_G_A\n"}, ["chr2_500011_G_A", "GENE_NULL"]),
        "rsid_not_in_window": ({"eqtls": eqtls + "GENE_NULL\trs999\n"}, ["rs999", "GENE_NULL", "not found"]),
        "gene_not_in_bed": ({"eqtls": eqtls + "GENE_ABSENT\tchr2_500010_G_A\n"}, ["GENE_ABSENT", "line 9"]),
        "eqtls_missing_column": ({"eqtls": eqtls.replace("variant_id", "variant", 1)}, ["eqtls.tsv", "variant_id"]),
        "eqtls_bad_position": (
            {"eqtls": "gene_id\tvariant_id\tvariant_chr\tvariant_pos\nGENE_UP\tchr1_1000100_A_G\tchr1\t1e6\n"},
            ["eqtls.tsv", "line 2", "1e6"],
        ),
        "eqtls_duplicate_pair": ({"eqtls": eqtls + "GENE_UP\tchr1_1000100_A_G\n"}, ["line 9", "GENE_UP", "twice"]),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unphased_het",
        "bed_sample_missing_from_vcf",
        "bed_sample_missing_from_vcf_2",
        "variant_not_in_vcf",
        "rsid_not_in_window",
        "gene_not_in_bed",
        "eqtls_missing_column",
        "eqtls_bad_position",
        "eqtls_duplicate_pair",
    ],
)
def test_bad_input_names_the_culprit(world, tmp_path, case, capsys):
    """In process through magelib.cli.run (what ``sys.exit(run(main))`` returns); the subprocess case is below."""
    replacements, expected = bad_inputs(world)[case]
    args = write_inputs(tmp_path, world, **replacements)
    assert run_cli(afc_cli().main, [str(a) for a in args]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("ERROR:")
    for text in expected:
        assert text in message, message
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*tmp*"))


def test_bad_input_exits_1_without_traceback(world, tmp_path):
    replacements, expected = bad_inputs(world)["unphased_het"]
    proc = run(BIN / "afc.py", *write_inputs(tmp_path, world, **replacements))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("ERROR:")
    assert all(text in proc.stderr for text in expected)
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*tmp*"))


def test_covariates_required_unless_disabled(world, tmp_path, capsys):
    args = [str(a) for a in write_inputs(tmp_path, world)]
    i = args.index("--covariates")
    assert run_cli(afc_cli().main, args[:i] + args[i + 2 :]) == 1
    assert "--covariates is required" in capsys.readouterr().err


def test_help():
    proc = run(BIN / "afc.py", "--help")
    assert proc.returncode == 0 and "--eqtls" in proc.stdout
    assert shutil.which("afc.py")


def test_haplotypes_from_gt_codes_phase_haploid_and_missing():
    from magelib.io.vcf import haplotypes_from_gt

    # 0|1, 1|0, 0/1 (unphased het), 1 (haploid), ./., .|1, 1/1 (unphased hom: fine)
    genotype = np.array([[0, 1, 1], [1, 0, 1], [0, 1, 0], [1, -2, 1], [-1, -1, 0], [-1, 1, 1], [1, 1, 0]])
    h1, h2, unphased = haplotypes_from_gt(genotype)
    np.testing.assert_array_equal(h1, [0, 1, 0, 1, np.nan, np.nan, 1])
    np.testing.assert_array_equal(h2, [1, 0, 1, 1, np.nan, np.nan, 1])
    np.testing.assert_array_equal(unphased, [False, False, True, False, False, False, False])
    h1, h2, unphased = haplotypes_from_gt(np.array([[0, 1], [1, 1]]))  # an all-haploid record (one allele column)
    np.testing.assert_array_equal(h1, h2)
    assert not unphased.any()
