"""prepare_genotypes.py: the genotype store against bcftools' own decoding, chrX coding (MAGE hap2dip), filters,
errors, and reproducibility."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.io.genotype_store import GenotypeStore

GEUVADIS_VCF = "qtltools-example_geuvadis-chr22/genotypes.chr22.vcf.gz"


def run(*args, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def bcftools_dosages(vcf: Path, samples: list[str], region: str | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Variants and ALT dosages decoded from `bcftools query` (haploid calls count twice, any '.' is missing)."""
    require_tool("bcftools")
    args = ["bcftools", "query", "-s", ",".join(samples), "-f", "%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n", str(vcf)]
    if region:
        args[2:2] = ["-r", region]
    rows = [line.split("\t") for line in run(*args).stdout.splitlines()]
    table = pd.DataFrame([r[:4] for r in rows], columns=["chrom", "pos", "ref", "alt"]).astype({"pos": int})

    def decode(gt: str) -> float:
        alleles = gt.replace("|", "/").split("/")
        if "." in alleles:
            return np.nan
        count = sum(a != "0" for a in alleles)
        return 2.0 * count if len(alleles) == 1 else float(count)

    dosage = np.array([[decode(gt) for gt in r[4:]] for r in rows])
    return table, dosage


def maf_from(dosage: np.ndarray) -> np.ndarray:
    rounded = np.rint(dosage)
    observed = ~np.isnan(dosage)
    alt = np.nansum(rounded, axis=1)
    total = 2 * observed.sum(axis=1)
    return np.minimum(alt, total - alt) / total


def test_store_matches_bcftools(shared_data, tmp_path):
    vcf = shared_data / GEUVADIS_VCF
    samples = run("bcftools", "query", "-l", vcf).stdout.split()[::3]  # every third individual: a subset changes MAF
    (tmp_path / "samples.txt").write_text("\n".join(samples) + "\n")
    region = "chr22:16000000-17500000"
    run("bcftools", "view", "-r", region, "-Oz", "-o", tmp_path / "region.vcf.gz", vcf)
    run(
        "prepare_genotypes.py",
        "--vcf",
        tmp_path / "region.vcf.gz",
        "--samples",
        tmp_path / "samples.txt",
        "--out",
        tmp_path / "store",
    )
    table, dosage = bcftools_dosages(vcf, samples, region)
    keep = maf_from(dosage) >= 0.01
    store = GenotypeStore(tmp_path / "store")
    assert store.samples == samples and store.chromosomes == ["chr22"]
    variants = store.variants("chr22")
    assert len(variants) == keep.sum() > 1000
    assert (variants["pos"].to_numpy() == table["pos"].to_numpy()[keep]).all()
    expected_ids = (table["chrom"] + "_" + table["pos"].astype(str) + "_" + table["ref"] + "_" + table["alt"])[keep]
    assert variants["variant_id"].tolist() == expected_ids.tolist()
    matrix = np.load(tmp_path / "store" / "chr22.dosage.npy", mmap_mode="r")
    assert matrix.dtype == np.int8 and matrix.shape == (keep.sum(), len(samples))
    np.testing.assert_array_equal(np.where(matrix < 0, np.nan, matrix), dosage[keep])
    np.testing.assert_allclose(variants["af"], np.nanmean(dosage[keep], axis=1) / 2)
    # region reads: binary search on pos and a slice of the memory map
    sub, block = store.load("chr22", 16_500_000, 16_600_000, np.arange(len(samples)))
    inside = (variants["pos"] >= 16_500_000) & (variants["pos"] <= 16_600_000)
    assert sub["variant_id"].tolist() == variants.loc[inside, "variant_id"].tolist()
    assert block.shape == (inside.sum(), len(samples))


@pytest.fixture(scope="module")
def world_store(test_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("world_store")
    individuals = test_world / "genotypes" / "individuals.tsv"
    run("prepare_genotypes.py", "--vcf", test_world / "genotypes" / "genotypes.vcf.gz", "--samples", individuals,
        "--out", out / "store", "--par-regions", "chrX:1-21530", "--maf", "0")  # fmt: skip
    return out / "store", pd.read_csv(individuals, sep="\t")


def test_chrx_males_are_coded_0_2_outside_the_par(world_store, test_world):
    store_path, individuals = world_store
    store = GenotypeStore(store_path)
    assert set(store.chromosomes) == {"chr1", "chr2", "chrX"}
    table, dosage = bcftools_dosages(test_world / "genotypes" / "genotypes.vcf.gz", store.samples, "chrX")
    matrix = np.load(store_path / "chrX.dosage.npy")
    variants = store.variants("chrX")
    keep = np.isin(table["pos"], variants["pos"])
    np.testing.assert_array_equal(matrix, np.where(np.isnan(dosage[keep]), -1, dosage[keep]))
    sex = individuals.set_index("individual").loc[store.samples, "sex"].to_numpy()
    outside = variants["pos"].to_numpy() > 21530
    males = matrix[np.ix_(outside, sex == "male")]
    assert set(np.unique(males)) <= {-1, 0, 2} and (males == 2).any()
    assert (matrix[np.ix_(outside, sex == "female")] == 1).any()  # females keep heterozygous calls
    assert (matrix[np.ix_(~outside, sex == "male")] == 1).any()  # PAR: males are diploid


def test_chrx_exclude(test_world, tmp_path):
    run("prepare_genotypes.py", "--vcf", test_world / "genotypes" / "genotypes.vcf.gz", "--samples",
        test_world / "genotypes" / "individuals.tsv", "--out", tmp_path / "store", "--chrx", "exclude")  # fmt: skip
    assert GenotypeStore(tmp_path / "store").chromosomes == ["chr1", "chr2"]


def test_keep_restricts_the_individuals_and_their_maf(test_world, tmp_path):
    """--keep (the individuals that reach mapping): the MAF counts those alone, closed form from bcftools."""
    vcf = test_world / "genotypes" / "genotypes.vcf.gz"
    table = pd.read_csv(test_world / "genotypes" / "individuals.tsv", sep="\t")
    kept = list(table["individual"][::4])
    (tmp_path / "keep.tsv").write_text("individual\tlibrary\n" + "".join(f"{i}\tL{i}\n" for i in kept))
    run("prepare_genotypes.py", "--vcf", vcf, "--samples", test_world / "genotypes" / "individuals.tsv",
        "--keep", tmp_path / "keep.tsv", "--out", tmp_path / "store", "--maf", "0.05", "--chrx", "exclude")  # fmt: skip
    store = GenotypeStore(tmp_path / "store")
    assert list(store.samples) == kept
    variants, dosage = bcftools_dosages(vcf, kept, region="chr1")
    expected = variants.loc[maf_from(dosage) >= 0.05]
    stored = pd.read_parquet(tmp_path / "store" / "chr1.variants.parquet")
    assert len(stored) == len(expected) > 0


def test_keep_with_an_unknown_individual_fails(test_world, tmp_path):
    (tmp_path / "keep.tsv").write_text("individual\nNOBODY\n")
    proc = run("prepare_genotypes.py", "--vcf", test_world / "genotypes" / "genotypes.vcf.gz", "--samples",
               test_world / "genotypes" / "individuals.tsv", "--keep", tmp_path / "keep.tsv", "--out", tmp_path / "s",
               check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "NOBODY" in proc.stderr and "keep.tsv" in proc.stderr
    assert not (tmp_path / "s").exists()


CRAFTED = """##fileformat=VCFv4.2
##contig=<ID=chrX,length=1000000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tM1\tM2\tF1\tF2
chrX\t100\t.\tA\tG\t.\t.\t.\tGT\t0\t1\t0|1\t1|1
chrX\t100\t.\tA\tG\t.\t.\t.\tGT\t1\t1\t0|0\t1|1
chrX\t200\t.\tA\tG,T\t.\t.\t.\tGT\t0\t1\t0|2\t1|1
chrX\t300\t.\tA\t<DEL>\t.\t.\t.\tGT\t0\t1\t0|1\t1|1
chrX\t400\t.\tAT\tA\t.\t.\t.\tGT\t0/1\t./1\t0|1\t.
chrX\t500\t.\tC\t*\t.\t.\t.\tGT\t0\t1\t0|1\t1|1
chrX\t600\t.\tC\tT\t.\t.\t.\tGT\t0/1\t1\t0|1\t0|0
"""


def test_filters_and_sex_label_warnings(tmp_path):
    (tmp_path / "x.vcf").write_text(CRAFTED)
    (tmp_path / "samples.tsv").write_text("individual\tsex\nM1\tmale\nM2\tM\nF1\tfemale\nF2\t2\n")
    vcf, samples = tmp_path / "x.vcf", tmp_path / "samples.tsv"
    proc = run(
        "prepare_genotypes.py",
        "--vcf",
        vcf,
        "--samples",
        samples,
        "--out",
        tmp_path / "s",
        "--maf",
        "0",
        "--par-regions",
        "chrX:1-50",
    )
    assert "WARNING: M1 labelled male: 2 heterozygous calls outside the PARs" in proc.stderr
    store = GenotypeStore(tmp_path / "s")
    variants = store.variants("chrX")
    # multiallelic, symbolic and '*' ALTs are dropped; the duplicate record keeps its first copy
    assert variants["variant_id"].tolist() == ["chrX_100_A_G", "chrX_400_AT_A", "chrX_600_C_T"]
    matrix = np.load(tmp_path / "s" / "chrX.dosage.npy")
    # haploid 1 -> 2 (MAGE's hap2dip); './1' and '.' are missing; nothing is recoded because of a sex label
    np.testing.assert_array_equal(matrix, [[0, 2, 1, 2], [1, -1, 1, -1], [1, 2, 1, 0]])
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["counts"]["chrX"]["duplicates_dropped"] == 1
    # ... but a labelled male with heterozygous calls outside the PARs is reported
    assert manifest["sex_warnings"] == {"M1": "labelled male: 2 heterozygous calls outside the PARs"}


def test_dosage_field_is_used_when_present(tmp_path):
    vcf = CRAFTED.replace('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
                          '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                          '##FORMAT=<ID=DS,Number=1,Type=Float,Description="Dosage">')  # fmt: skip
    lines = vcf.splitlines()
    lines[-1] = "chrX\t600\t.\tC\tT\t.\t.\t.\tGT:DS\t0/1:0.9\t1:1.7\t0|1:1.2\t0|0:0.1"
    (tmp_path / "ds.vcf").write_text("\n".join(lines) + "\n")
    run("prepare_genotypes.py", "--vcf", tmp_path / "ds.vcf", "--samples", _samples(tmp_path),
        "--out", tmp_path / "s", "--maf", "0", "--par-regions", "chrX:1-50")  # fmt: skip
    matrix = np.load(tmp_path / "s" / "chrX.dosage.npy")
    assert matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[-1], [0.9, 1.7, 1.2, 0.1], rtol=1e-6)


def _samples(directory: Path) -> Path:
    path = directory / "samples.tsv"
    path.write_text("individual\tsex\nM1\tmale\nM2\tmale\nF1\tfemale\nF2\tfemale\n")
    return path


def test_reruns_and_threads_are_byte_identical(test_world, tmp_path):
    vcf, samples = test_world / "genotypes" / "genotypes.vcf.gz", test_world / "genotypes" / "individuals.tsv"
    for name, threads in (("a", 1), ("b", 1), ("c", 2)):
        run("prepare_genotypes.py", "--vcf", vcf, "--samples", samples, "--out", tmp_path / name, "--threads", threads,
            "--par-regions", "chrX:1-21530")  # fmt: skip
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes() == (tmp_path / "c" / path.name).read_bytes(), (
            path.name
        )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("individual\tsex\nM1\tmale\nNOPE\tfemale\n", "individual 'NOPE' is not a VCF sample"),
        ("individual\tsex\nM1\tmale\nF1\tunknown\n", "line 3: sex 'unknown' of 'F1'"),
    ],
)
def test_bad_sample_tables(tmp_path, table, message):
    (tmp_path / "x.vcf").write_text(CRAFTED)
    (tmp_path / "samples.tsv").write_text(table)
    vcf, samples = tmp_path / "x.vcf", tmp_path / "samples.tsv"
    proc = run("prepare_genotypes.py", "--vcf", vcf, "--samples", samples, "--out", tmp_path / "s", check=False)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s").exists()


def test_help():
    assert "--par-regions" in run("prepare_genotypes.py", "--help").stdout


def test_planted_sex_label_error_is_reported(test_world, tmp_path):
    """With the samplesheet's (labelled) sexes, the test world's planted wrong sex label is the one warning."""
    libraries = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t")
    labels = libraries.drop_duplicates("labelled_individual")[["labelled_individual", "labelled_sex"]]
    labels.columns = ["individual", "sex"]
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    run("prepare_genotypes.py", "--vcf", test_world / "genotypes" / "genotypes.vcf.gz", "--samples", tmp_path / "labels.tsv",
        "--out", tmp_path / "s", "--par-regions", "chrX:1-21530")  # fmt: skip
    wrong = libraries.loc[libraries["planted_issue"].str.contains("wrong_sex_label"), "labelled_individual"]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert set(manifest["sex_warnings"]) == set(wrong) and len(wrong) == 1
