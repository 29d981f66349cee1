"""Samplesheet validation: each malformation gets one line naming the line and the column, and nothing is written."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pandas as pd
import pytest

from conftest import BIN

HEADER = "sample,individual,population,continental_group,sex,batch,fastq_1,fastq_2,run_accession,strandedness"


@pytest.fixture
def sheet_dir(tmp_path):
    for name in ("a_1.fastq.gz", "a_2.fastq.gz", "b_1.fastq.gz", "b_2.fastq.gz", "c_1.fastq.gz"):
        (tmp_path / name).write_bytes(gzip.compress(b"@r\nACGT\n+\nIIII\n", mtime=0))
    with gzip.open(tmp_path / "geno.vcf.gz", "wt") as vcf:
        vcf.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tHG001\tHG002\n")
    return tmp_path


GOOD_ROWS = [
    "LIB1,HG001,GBR,EUR,female,1,a_1.fastq.gz,a_2.fastq.gz,,auto",
    "LIB1-7-1,HG001,GBR,EUR,female,7,b_1.fastq.gz,b_2.fastq.gz,,unstranded",
    "LIB2,HG002,YRI,AFR,M,1,,,SRR19762530,",
    "LIB3,HG002,YRI,AFR,male,2,c_1.fastq.gz,,,reverse",
]


def run_check(sheet_dir, rows, *extra):
    sheet = sheet_dir / "samplesheet.csv"
    sheet.write_text("\n".join([HEADER, *rows]) + "\n")
    out = sheet_dir / "samples.tsv"
    cmd = [
        sys.executable,
        str(BIN / "check_samplesheet.py"),
        str(sheet),
        "--out",
        str(out),
        "--status",
        str(sheet_dir / "status.tsv"),
        "--vcf",
        str(sheet_dir / "geno.vcf.gz"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True), out


def test_valid_sheet_is_normalised(sheet_dir):
    proc, out = run_check(sheet_dir, GOOD_ROWS)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(table["sample"]) == ["LIB1", "LIB1-7-1", "LIB2", "LIB3"]
    assert list(table["sex"]) == ["female", "female", "male", "male"]  # M normalised
    assert list(table["strandedness"]) == ["auto", "unstranded", "auto", "reverse"]  # empty means auto
    assert list(table["single_end"]) == ["false", "false", "false", "true"]
    assert table.loc[0, "fastq_1"] == str((sheet_dir / "a_1.fastq.gz").resolve())  # relative to the sheet
    assert table.loc[2, "run_accession"] == "SRR19762530" and table.loc[2, "fastq_1"] == ""


@pytest.mark.parametrize(
    ("change", "line", "column", "words"),
    [
        (lambda rows: rows[:0] + [rows[0].replace(",auto", ",sideways")] + rows[1:], 2, "strandedness", "sideways"),
        (lambda rows: rows + [rows[0].replace("a_1", "b_1").replace("a_2", "b_2")], 6, "sample", "duplicate sample 'LIB1'"),
        (lambda rows: rows[:1] + [rows[1].replace("HG001", "HG999")] + rows[2:], 3, "individual", "HG999"),
        (lambda rows: rows[:1] + [rows[1].replace("b_1.fastq.gz", "missing.fastq.gz")] + rows[2:], 3, "fastq_1", "not found"),
        (lambda rows: rows[:3] + ["LIB4,HG002,YRI,AFR,male,2,,c_1.fastq.gz,,auto"], 5, "fastq_2", "without fastq_1"),
        (lambda rows: rows[:3] + [rows[3].replace("male", "unknown")], 5, "sex", "unknown"),
        (lambda rows: rows[:3] + [rows[3].replace("YRI", "ESN")], 5, "population", "'ESN' here but 'YRI' on line 4"),
        (lambda rows: rows[:2] + [rows[2].replace("SRR19762530", "SRX1")] + rows[3:], 4, "run_accession", "SRX1"),
        (lambda rows: rows[:2] + [rows[2].replace("1,,,SRR", "1,c_1.fastq.gz,,SRR")] + rows[3:], 4, "run_accession", "not both"),
    ],
    ids=[
        "bad-strandedness",
        "duplicate-sample",
        "unknown-individual",
        "file-not-found",
        "fastq2-without-fastq1",
        "bad-sex",
        "inconsistent-population",
        "bad-accession",
        "fastq-and-accession",
    ],
)
def test_malformed_rows_name_line_and_column(sheet_dir, change, line, column, words):
    proc, out = run_check(sheet_dir, change(list(GOOD_ROWS)))
    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1, message  # one line, no traceback
    assert f"line {line}, column '{column}'" in message and words in message, message
    assert not out.exists()  # nothing written


def test_missing_required_column(sheet_dir):
    sheet = sheet_dir / "s.csv"
    sheet.write_text("sample,sex,fastq_1\nLIB1,female,a_1.fastq.gz\n")
    proc = subprocess.run([sys.executable, str(BIN / "check_samplesheet.py"), str(sheet)], capture_output=True, text=True)
    assert proc.returncode == 1 and "line 1: missing required column 'individual'" in proc.stderr


def test_unknown_column_is_named(sheet_dir):
    sheet = sheet_dir / "s.csv"
    sheet.write_text("sample,individual,sex,fastq1\nLIB1,HG001,female,a_1.fastq.gz\n")
    proc = subprocess.run([sys.executable, str(BIN / "check_samplesheet.py"), str(sheet)], capture_output=True, text=True)
    assert proc.returncode == 1 and "unknown column 'fastq1'" in proc.stderr


def test_missing_individual_can_be_dropped_with_reason(sheet_dir):
    rows = [*GOOD_ROWS[:3], GOOD_ROWS[3].replace("HG002,YRI", "HG777,YRI")]
    proc, out = run_check(sheet_dir, rows, "--missing-individual", "drop")
    assert proc.returncode == 0, proc.stderr
    assert "LIB3" not in pd.read_csv(out, sep="\t")["sample"].tolist()
    status = pd.read_csv(sheet_dir / "status.tsv", sep="\t", keep_default_na=False)
    dropped = status.loc[status["status"] == "dropped"]
    assert dropped["sample"].tolist() == ["LIB3"] and "HG777 not in the VCF" in dropped["reason"].iat[0]
