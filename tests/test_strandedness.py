"""strandedness_check.py: calls from Salmon's lib_format_counts.json against closed-form thresholds, and on real
Salmon runs with a planted effect (swapping the mates of a forward-stranded library must make it reverse)."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
import strandedness_check

from conftest import require_tool
from magelib.cli import InputError, run
from magelib.reads.strandedness import ANTISENSE, SENSE, check, detect


def format_counts(isf=0, isr=0, sf=0, sr=0, expected="IU"):
    counts = {key: 0 for key in SENSE + ANTISENSE + ("MU", "OU", "IU", "U")}
    counts.update({"ISF": isf, "ISR": isr, "SF": sf, "SR": sr, "expected_format": expected})
    return counts


@pytest.mark.parametrize(
    "isf, isr, call",
    [
        (800, 200, "forward"),  # exactly the 0.8 threshold
        (799, 201, "undetermined"),
        (200, 800, "reverse"),
        (550, 450, "unstranded"),  # |0.55 - 0.45| = 0.1, the unstranded threshold
        (450, 550, "unstranded"),
        (560, 440, "undetermined"),
        (300, 199, "insufficient"),  # 499 < 500 stranded fragments
    ],
)
def test_thresholds(isf, isr, call):
    assert detect(format_counts(isf, isr))[0] == call


def test_orphans_count_only_for_single_end():
    # Paired library: orphan mates are ignored (their label depends on which mate mapped).
    assert detect(format_counts(isf=900, isr=100, sf=10, sr=5000))[:3:2] == ("forward", 1000)
    # Single-end library: SF/SR are the reads.
    call, fraction, total = detect(format_counts(sf=150, sr=850))
    assert (call, total) == ("reverse", 1000) and fraction == pytest.approx(0.15)


@pytest.mark.parametrize(
    "declared, detected_counts, agrees",
    [
        ("auto", (1000, 0), True),
        ("forward", (1000, 0), True),
        ("reverse", (1000, 0), False),
        ("unstranded", (1000, 0), False),
        ("unstranded", (500, 500), True),
        ("reverse", (600, 400), False),  # undetermined cannot confirm a declared type
        ("reverse", (10, 10), True),  # too few fragments: no call, not flagged
    ],
)
def test_agreement(declared, detected_counts, agrees):
    (call,) = check({"lib": declared}, {"lib": format_counts(*detected_counts)})
    assert call.agrees is agrees


def test_unknown_library_or_value():
    with pytest.raises(InputError, match="library 'b' has Salmon output but no declared strandedness"):
        check({"a": "auto"}, {"b": format_counts(1, 1)})
    with pytest.raises(InputError, match="'sideways' is not one of"):
        check({"a": "sideways"}, {"a": format_counts(1, 1)})


# ---------------------------------------------------------------- CLI on fixtures
def library(root, name, counts):
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "lib_format_counts.json").write_text(json.dumps(counts))
    return directory


def declared_table(root, mapping):
    path = root / "declared.tsv"
    path.write_text("sample\tstrandedness\n" + "".join(f"{k}\t{v}\n" for k, v in mapping.items()))
    return path


def test_cli_flags_or_fails(tmp_path, capsys):
    dirs = [
        library(tmp_path, "good", format_counts(isr=900, isf=100)),
        library(tmp_path, "bad", format_counts(isf=510, isr=490)),
        library(tmp_path, "free", format_counts(isf=900, isr=100)),
    ]
    declared = declared_table(tmp_path, {"good": "reverse", "bad": "reverse", "free": "auto"})
    status, mqc = tmp_path / "strandedness.status.tsv", tmp_path / "strandedness_mqc.tsv"
    argv = ["--quant", *map(str, dirs), "--declared", str(declared), "--status", str(status), "--mqc", str(mqc)]
    assert run(strandedness_check.main, argv) == 0
    assert "WARNING: bad: samplesheet says reverse (ISR) but Salmon detected unstranded" in capsys.readouterr().err
    table = pd.read_csv(status, sep="\t", keep_default_na=False).set_index("sample")
    assert list(table.columns) == ["step", "status", "reason"]
    assert table["status"].to_dict() == {"bad": "flagged", "free": "kept", "good": "kept"}
    assert "51.0% of 1000" in table.loc["bad", "reason"]
    report = pd.read_csv(mqc, sep="\t", comment="#", index_col=0)
    assert report.loc["bad", "agrees"] == "no" and report.loc["good", "detected"] == "reverse"

    status.unlink()
    mqc.unlink()
    assert run(strandedness_check.main, argv + ["--action", "fail"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("ERROR: strandedness disagrees with the samplesheet for 1 libraries: bad:") and len(err.splitlines()) == 1
    )
    assert not status.exists() and not mqc.exists()


def test_cli_bad_inputs(tmp_path, capsys):
    directory = tmp_path / "lib"
    directory.mkdir()
    declared = declared_table(tmp_path, {"lib": "auto"})
    assert run(strandedness_check.main, ["--quant", str(directory), "--declared", str(declared)]) == 1
    assert "lib/lib_format_counts.json: Salmon lib_format_counts.json not found" in capsys.readouterr().err
    (directory / "lib_format_counts.json").write_text('{"ISF": 3}')
    assert run(strandedness_check.main, ["--quant", str(directory), "--declared", str(declared)]) == 1
    assert "no 'OSF' count" in capsys.readouterr().err
    (tmp_path / "bad.tsv").write_text("id\tstrand\nlib\tauto\n")
    (directory / "lib_format_counts.json").write_text(json.dumps(format_counts(1, 1)))
    assert run(strandedness_check.main, ["--quant", str(directory), "--declared", str(tmp_path / "bad.tsv")]) == 1
    assert "header must start with 'sample<TAB>strandedness'" in capsys.readouterr().err


# ---------------------------------------------------------------- real Salmon runs
def salmon(index, r1, r2, out):
    subprocess.run(
        ["salmon", "quant", "-i", str(index), "-l", "A", "-1", str(r1), "-2", str(r2), "-p", "2", "-o", str(out)],
        check=True,
        capture_output=True,
    )


@pytest.mark.shared
def test_real_salmon_forward_library_and_swapped_mates(shared_data, tmp_path, capsys):
    require_tool("salmon")
    base = shared_data / "nfcore-test-datasets_GM12878-chr22region"
    subprocess.run(
        ["salmon", "index", "-t", str(base / "reference" / "transcriptome.fasta"), "-i", str(tmp_path / "idx")],
        check=True,
        capture_output=True,
    )
    r1, r2 = base / "fastq" / "test_rnaseq_1.fastq.gz", base / "fastq" / "test_rnaseq_2.fastq.gz"
    salmon(tmp_path / "idx", r1, r2, tmp_path / "NA12878")
    salmon(tmp_path / "idx", r2, r1, tmp_path / "NA12878_swapped")  # planted: mate swap turns sense into antisense
    declared = declared_table(tmp_path, {"NA12878": "forward", "NA12878_swapped": "forward"})
    argv = [
        "--quant",
        str(tmp_path / "NA12878"),
        str(tmp_path / "NA12878_swapped"),
        "--declared",
        str(declared),
        "--min-fragments",
        "20",
        "--status",
        str(tmp_path / "s.tsv"),
        "--mqc",
        str(tmp_path / "m_mqc.tsv"),
    ]
    assert run(strandedness_check.main, argv) == 0
    report = pd.read_csv(tmp_path / "m_mqc.tsv", sep="\t", comment="#", index_col=0)
    assert report.loc["NA12878", "detected"] == "forward"
    assert report.loc["NA12878_swapped", "detected"] == "reverse"
    assert report["agrees"].to_dict() == {"NA12878": "yes", "NA12878_swapped": "no"}


def test_real_salmon_unstranded_test_world(test_world, tmp_path):
    require_tool("salmon")
    subprocess.run(
        ["salmon", "index", "-t", str(test_world / "reference" / "transcripts.fa"), "-i", str(tmp_path / "idx")],
        check=True,
        capture_output=True,
    )
    sheet = pd.read_csv(test_world / "samplesheet.csv").head(2)
    for row in sheet.itertuples():
        salmon(tmp_path / "idx", test_world / row.fastq_1, test_world / row.fastq_2, tmp_path / row.sample)
    declared = declared_table(tmp_path, dict(zip(sheet["sample"], ["unstranded"] * len(sheet), strict=True)))
    argv = [
        "--quant",
        *[str(tmp_path / s) for s in sheet["sample"]],
        "--declared",
        str(declared),
        "--status",
        str(tmp_path / "s.tsv"),
        "--mqc",
        str(tmp_path / "m_mqc.tsv"),
    ]
    assert run(strandedness_check.main, argv) == 0
    report = pd.read_csv(tmp_path / "m_mqc.tsv", sep="\t", comment="#", index_col=0)
    assert (report["detected"] == "unstranded").all() and (report["stranded_fragments"] >= 500).all()


def test_help():
    proc = subprocess.run(["strandedness_check.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--stranded-threshold" in proc.stdout
