"""sex_check.py: planted XIST/chrY matrices (every verdict, the thresholds in closed form), the test world against
its truth, bad input, and the MultiQC scatter."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
import sex_check

from conftest import require_tool
from magelib.cli import run

GTF = "\n".join(
    f'{chrom}\tSIM\tgene\t{start}\t{start + 999}\t.\t+\t.\tgene_id "{gid}"; gene_name "{name}"; gene_type "x";'
    for chrom, start, gid, name in [
        ("chr1", 1000, "G1", "ACTB"),
        ("chrX", 1000, "G2", "XIST"),
        ("chrY", 1000, "G3", "RPS4Y1"),
        ("chrY", 5000, "G4", "DDX3Y"),
        ("chrY", 9000, "G5", "KDM5D"),
    ]
)


def write_inputs(tmp_path, tpm: dict[str, dict[str, float]], sexes: dict[str, str], gtf: str = GTF):
    frame = pd.DataFrame(tpm).rename_axis("gene_id")
    frame.to_csv(tmp_path / "tpm.tsv", sep="\t")
    pd.DataFrame({"sample": list(sexes), "individual": [f"IND_{s}" for s in sexes], "sex": list(sexes.values())}).to_csv(
        tmp_path / "samples.tsv", sep="\t", index=False
    )
    (tmp_path / "genes.gtf").write_text(gtf + "\n")


def run_cli(tmp_path, *extra):
    """Run the CLI in-process (bin/ is on sys.path); return its exit code as run() gives it."""
    argv = ["--tpm", "tpm.tsv", "--gtf", "genes.gtf", "--samples", "samples.tsv", *extra]
    argv = [str(tmp_path / a) if a.endswith((".tsv", ".gtf")) else a for a in argv]
    outputs = [
        "--out",
        tmp_path / "sex_check.tsv",
        "--status",
        tmp_path / "sexcheck.status.tsv",
        "--mqc",
        tmp_path / "sex_check_mqc.json",
    ]
    return run(sex_check.main, argv + [str(o) for o in outputs])


def test_help():
    proc = subprocess.run(["sex_check.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--xist-min-tpm" in proc.stdout


def test_exit_code_and_message(tmp_path):
    """As a process: bad input exits 1 with one ERROR line and no traceback."""
    write_inputs(tmp_path, {"A": {"G1": 1}}, {"B": "female"})
    proc = subprocess.run(
        ["sex_check.py", "--tpm", "tpm.tsv", "--gtf", "genes.gtf", "--samples", "samples.tsv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: tpm.tsv: library 'A' is not in the sample table")


def test_every_verdict_on_planted_libraries(tmp_path):
    # female, male, a female labelled male, both markers on, both off, no reported sex
    tpm = {
        "F": {"G1": 100, "G2": 60, "G3": 0, "G4": 0.2, "G5": 0},
        "M": {"G1": 100, "G2": 0.3, "G3": 40, "G4": 8, "G5": 3},
        "SWAPPED": {"G1": 100, "G2": 80, "G3": 0, "G4": 0, "G5": 0},
        "BOTH": {"G1": 100, "G2": 50, "G3": 30, "G4": 5, "G5": 1},
        "NEITHER": {"G1": 100, "G2": 1, "G3": 1, "G4": 1, "G5": 1},
        "UNREPORTED": {"G1": 100, "G2": 0, "G3": 50, "G4": 0, "G5": 0},
    }
    sexes = {"F": "female", "M": "male", "SWAPPED": "male", "BOTH": "female", "NEITHER": "male", "UNREPORTED": ""}
    write_inputs(tmp_path, tpm, sexes)
    assert run_cli(tmp_path) == 0
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t", index_col="sample", keep_default_na=False)
    assert out["verdict"].to_dict() == {
        "F": "ok",
        "M": "ok",
        "SWAPPED": "mismatch",
        "BOTH": "ambiguous",
        "NEITHER": "ambiguous",
        "UNREPORTED": "unreported",
    }
    assert out["inferred_sex"].to_dict()["SWAPPED"] == "female"
    # Closed forms: x = log2(XIST + 1), y = log2(sum of the chrY genes + 1)
    assert out.at["M", "xist_log2tpm"] == pytest.approx(math.log2(1.3))
    assert out.at["M", "chry_log2tpm"] == pytest.approx(math.log2(52.0))
    status = pd.read_csv(tmp_path / "sexcheck.status.tsv", sep="\t", index_col="sample")
    assert list(status.columns) == ["step", "status", "reason"]
    assert status.loc[["SWAPPED", "BOTH", "NEITHER"], "status"].eq("flagged").all()
    assert status.loc[["F", "M", "UNREPORTED"], "status"].eq("kept").all()
    assert "samplesheet says male" in status.at["SWAPPED", "reason"]


def test_threshold_is_inclusive(tmp_path):
    tpm = {"AT": {"G1": 1, "G2": 5.0, "G3": 0, "G4": 0, "G5": 0}, "BELOW": {"G1": 1, "G2": 4.999, "G3": 0, "G4": 0, "G5": 0}}
    write_inputs(tmp_path, tpm, {"AT": "female", "BELOW": "female"})
    assert run_cli(tmp_path, "--xist-min-tpm", "5") == 0
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t", index_col="sample")
    assert out.at["AT", "inferred_sex"] == "female"
    assert out.at["BELOW", "inferred_sex"] == "ambiguous"


def test_markers_absent_from_annotation(tmp_path):
    gtf = GTF.split("\n")[0]  # only ACTB: e.g. the chr22 test genome
    write_inputs(tmp_path, {"A": {"G1": 5.0}}, {"A": "female"}, gtf=gtf)
    assert run_cli(tmp_path) == 0
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t")
    assert out.at[0, "verdict"] == "not_assessable"
    assert "XIST and chrY genes not in the annotation" in out.at[0, "reason"]


def test_custom_marker_lists(tmp_path):
    tpm = {"M": {"G1": 0, "G2": 0, "G3": 0, "G4": 0, "G5": 30}}
    write_inputs(tmp_path, tpm, {"M": "male"})
    assert run_cli(tmp_path, "--chry-genes", "RPS4Y1,DDX3Y") == 0  # KDM5D no longer counts
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t")
    assert out.at[0, "chry_tpm"] == 0 and out.at[0, "verdict"] == "ambiguous"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_library", "library 'EXTRA' is not in the sample table"),
        ("non_finite", "non-finite value nan at row 'G2', column 'A'"),
        ("no_individual", "has no 'individual' column"),
    ],
)
def test_bad_input(tmp_path, capsys, case, expected):
    write_inputs(tmp_path, {"A": {"G1": 1, "G2": 1}, "EXTRA": {"G1": 1, "G2": 1}}, {"A": "female", "EXTRA": "male"})
    if case == "unknown_library":
        pd.DataFrame({"sample": ["A"], "individual": ["I"], "sex": ["female"]}).to_csv(
            tmp_path / "samples.tsv", sep="\t", index=False
        )
    elif case == "non_finite":
        (tmp_path / "tpm.tsv").write_text("gene_id\tA\nG1\t1\nG2\tnan\n")
        pd.DataFrame({"sample": ["A"], "individual": ["I"], "sex": ["female"]}).to_csv(
            tmp_path / "samples.tsv", sep="\t", index=False
        )
    else:
        pd.DataFrame({"sample": ["A", "EXTRA"], "sex": ["female", "male"]}).to_csv(
            tmp_path / "samples.tsv", sep="\t", index=False
        )
    assert run_cli(tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and expected in err
    assert not (tmp_path / "sex_check.tsv").exists()


def test_world_matches_truth(test_world, tmp_path):
    """Simulated read pairs per gene divided by transcript length stand in for TPM; every library's inferred sex
    must equal its true sex, and only the planted mislabelled library is a mismatch."""
    from magelib.io.gtf import read_features

    counts = pd.read_csv(test_world / "truth" / "gene_read_pairs.tsv", sep="\t", index_col=0)
    exons = read_features(test_world / "reference" / "genes.gtf", "exon")
    exons["length"] = exons["end"] - exons["start"] + 1
    length = exons.groupby(["gene_id", "transcript_id"])["length"].sum().groupby("gene_id").max()
    rate = counts.div(length.reindex(counts.index), axis=0)
    (rate / rate.sum() * 1e6).to_csv(tmp_path / "tpm.tsv", sep="\t", index_label="gene_id")
    sheet = pd.read_csv(test_world / "samplesheet.csv")
    sheet.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    (tmp_path / "genes.gtf").symlink_to(test_world / "reference" / "genes.gtf")
    assert run_cli(tmp_path) == 0
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t", index_col="sample")
    truth = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t", index_col="library")
    assert (out["inferred_sex"] == truth.loc[out.index, "true_sex"]).all()
    planted = truth.index[truth["planted_issue"].str.contains("wrong_sex_label")]
    assert list(out.index[out["verdict"] == "mismatch"]) == list(planted)
    assert out.loc[out.index.difference(planted), "verdict"].eq("ok").all()

    plot = json.loads((tmp_path / "sex_check_mqc.json").read_text())
    assert plot["id"].startswith("mage_") and plot["plot_type"] == "scatter"
    point = plot["data"][planted[0]]
    assert point["x"] == pytest.approx(out.at[planted[0], "xist_log2tpm"], rel=1e-6)
    assert point["color"] == sex_check.COLOURS[truth.at[planted[0], "labelled_sex"]]  # coloured by the reported sex
    assert np.isfinite([p["y"] for p in plot["data"].values()]).all()


def test_multiqc_reads_the_scatter(tmp_path):
    require_tool("multiqc")
    tpm = {"F": {"G1": 1, "G2": 60, "G3": 0, "G4": 0, "G5": 0}, "M": {"G1": 1, "G2": 0, "G3": 40, "G4": 0, "G5": 0}}
    write_inputs(tmp_path, tpm, {"F": "female", "M": "female"})
    assert run_cli(tmp_path) == 0
    (tmp_path / "mqc").mkdir()
    (tmp_path / "sex_check_mqc.json").rename(tmp_path / "mqc" / "sex_check_mqc.json")
    proc = subprocess.run(
        ["multiqc", "-f", "--no-data-dir", "-o", str(tmp_path / "report"), str(tmp_path / "mqc")], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "mage_sex_check: Found 2 samples (PlotType.SCATTER)" in proc.stdout + proc.stderr
