"""Samplesheet validation: one-line errors naming the line and the column, checked before any work starts.

Columns (header required, order free): sample, individual, population, continental_group, sex, batch,
fastq_1, fastq_2, run_accession, strandedness. Line numbers count the header as line 1.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..cli import InputError

REQUIRED = ("sample", "individual", "sex")
OPTIONAL = ("population", "continental_group", "batch", "fastq_1", "fastq_2", "run_accession", "strandedness")
STRANDEDNESS = ("auto", "unstranded", "forward", "reverse")
SEXES = {"male": "male", "m": "male", "female": "female", "f": "female"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RUN_PATTERN = re.compile(r"^[SED]RR\d+$")
FASTQ_SUFFIXES = (".fastq.gz", ".fq.gz")
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://")


# Metadata that must agree across all libraries of one individual.
PER_INDIVIDUAL = ("sex", "population", "continental_group")
OUTPUT_COLUMNS = (
    "sample individual population continental_group sex batch strandedness single_end fastq_1 fastq_2 run_accession line".split()
)


@dataclass
class Checked:
    rows: list[dict] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (sample, reason)


def _fail(path: Path, line: int, column: str, message: str) -> InputError:
    return InputError(f"{path} line {line}, column '{column}': {message}")


def read_rows(path: Path) -> list[tuple[int, dict]]:
    """Rows of a CSV or TSV samplesheet with their line numbers; header checked for unknown and missing columns."""
    if not path.is_file():
        raise InputError(f"{path}: samplesheet not found")
    text = path.read_text()
    if not text.strip():
        raise InputError(f"{path}: samplesheet is empty")
    delimiter = "\t" if "\t" in text.splitlines()[0] else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise InputError(f"{path} line 1: unknown column '{unknown[0]}' (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{path} line 1: missing required column '{missing[0]}'")
    if "fastq_1" not in header and "run_accession" not in header:
        raise InputError(f"{path} line 1: needs a 'fastq_1' or a 'run_accession' column")
    rows = []
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            raise InputError(f"{path} line {line}: more fields than header columns")
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        rows.append((line, row))
    if not rows:
        raise InputError(f"{path}: samplesheet has a header but no rows")
    return rows


def resolve_fastq(value: str, base_dir: Path, path: Path, line: int, column: str, check_files: bool = True) -> str:
    """Absolute path (relative paths are taken from the samplesheet's directory); remote URIs pass unchanged.

    check_files=False leaves the existence check to the caller: inside a container the FASTQs are not visible
    to this step, so the pipeline checks them when it stages them (naming this line)."""
    if not value.endswith(FASTQ_SUFFIXES):
        raise _fail(path, line, column, f"'{value}' must end in {' or '.join(FASTQ_SUFFIXES)}")
    if REMOTE.match(value):
        return value
    resolved = Path(os.path.normpath(base_dir / value))
    if check_files and not resolved.is_file():
        raise _fail(path, line, column, f"file not found: {value}")
    return str(resolved)


def check_row(row: dict, line: int, path: Path, base_dir: Path, check_files: bool = True) -> dict:
    """Validate and normalise one row; raise naming the line and column at fault."""
    for column in ("sample", "individual"):
        if not row.get(column):
            raise _fail(path, line, column, "is empty")
        if not ID_PATTERN.match(row[column]):
            raise _fail(path, line, column, f"'{row[column]}' must be letters, digits, '.', '_' or '-' without spaces")
    sex = SEXES.get(row["sex"].lower())
    if sex is None:
        raise _fail(path, line, "sex", f"'{row['sex']}' is not one of male, female")
    strandedness = row.get("strandedness") or "auto"
    if strandedness not in STRANDEDNESS:
        raise _fail(path, line, "strandedness", f"'{strandedness}' is not one of {', '.join(STRANDEDNESS)}")
    fastq_1, fastq_2, run = row.get("fastq_1", ""), row.get("fastq_2", ""), row.get("run_accession", "")
    if fastq_2 and not fastq_1:
        raise _fail(path, line, "fastq_2", "is given without fastq_1")
    if fastq_1 and run:
        raise _fail(path, line, "run_accession", "give either fastq_1/fastq_2 or run_accession, not both")
    if not fastq_1 and not run:
        raise _fail(path, line, "fastq_1", "is empty and there is no run_accession")
    if run and not RUN_PATTERN.match(run):
        raise _fail(path, line, "run_accession", f"'{run}' is not an SRA/ENA/DDBJ run accession (SRR/ERR/DRR + digits)")
    if fastq_1 and fastq_1 == fastq_2:
        raise _fail(path, line, "fastq_2", "is the same file as fastq_1")
    return {
        "sample": row["sample"],
        "individual": row["individual"],
        "population": row.get("population", ""),
        "continental_group": row.get("continental_group", ""),
        "sex": sex,
        "batch": row.get("batch", ""),
        "strandedness": strandedness,
        "single_end": "true" if fastq_1 and not fastq_2 else "false",
        "fastq_1": resolve_fastq(fastq_1, base_dir, path, line, "fastq_1", check_files) if fastq_1 else "",
        "fastq_2": resolve_fastq(fastq_2, base_dir, path, line, "fastq_2", check_files) if fastq_2 else "",
        "run_accession": run,
        "line": str(line),
    }


def check_consistency(rows: list[tuple[int, dict]], path: Path) -> None:
    """Sample IDs are unique and each individual's metadata agrees across its libraries."""
    first_line: dict[str, int] = {}
    individual_rows: dict[str, tuple[int, dict]] = {}
    for line, row in rows:
        if row["sample"] in first_line:
            raise _fail(path, line, "sample", f"duplicate sample '{row['sample']}' (first on line {first_line[row['sample']]})")
        first_line[row["sample"]] = line
        seen = individual_rows.setdefault(row["individual"], (line, row))
        for column in PER_INDIVIDUAL:
            if row[column] != seen[1][column]:
                raise _fail(
                    path,
                    line,
                    column,
                    f"individual '{row['individual']}' has '{row[column]}' here but '{seen[1][column]}' on line {seen[0]}",
                )


def vcf_samples(vcf: Path) -> list[str]:
    """Sample names from a (b)gzipped or plain VCF header, read without loading records."""
    opener = gzip.open if vcf.suffix in (".gz", ".bgz") else open
    try:
        with opener(vcf, "rt") as handle:
            for line in handle:
                if line.startswith("#CHROM"):
                    return line.rstrip("\n").split("\t")[9:]
                if not line.startswith("#"):
                    break
    except (OSError, EOFError) as err:
        raise InputError(f"{vcf}: cannot read VCF header ({err})") from err
    raise InputError(f"{vcf}: no #CHROM header line")


def check_samplesheet(
    path: Path,
    base_dir: Path | None = None,
    vcf: Path | None = None,
    missing_action: str = "fail",
    check_files: bool = True,
) -> Checked:
    """Validate the whole samplesheet; with a VCF, every individual must be in its header (or be dropped)."""
    base_dir = base_dir or path.resolve().parent
    rows = [(line, check_row(row, line, path, base_dir, check_files)) for line, row in read_rows(path)]
    check_consistency(rows, path)
    result = Checked()
    in_vcf = set(vcf_samples(vcf)) if vcf else None
    for line, row in rows:
        if in_vcf is not None and row["individual"] not in in_vcf:
            if missing_action == "fail":
                raise _fail(path, line, "individual", f"'{row['individual']}' is not a sample in the VCF {vcf}")
            result.dropped.append((row["sample"], f"individual {row['individual']} not in the VCF"))
            continue
        result.rows.append(row)
    if not result.rows:
        raise InputError(f"{path}: no library left after dropping individuals missing from the VCF")
    return result
