#!/usr/bin/env python3
"""Build the mage samplesheet of MAGE's 779 RNA-seq libraries (BioProject PRJNA851328) from MAGE's metadata.

Input (--metadata): MAGE's library table, `updated_metadata.tsv` from github.com/mccoy-lab/MAGE
(analysis_pipeline/01_data_preparation/splicing_quantification/scripts/, commit f929fb5), one row per library:
sequencing_id, coriell_id, kgp_id, batch, file_path, superpop, subpop, sex, hapmap, read_counts. The Zenodo
names of the same columns (internal_libraryID, sample_kgpID, continentalGroup, population) are accepted too.

Output (--out): one row per library, columns
    sample,individual,population,continental_group,sex,batch,run_accession,strandedness
with sample = MAGE's library ID (GM12878, HG00237-7-2), individual = the 1000 Genomes ID used in the VCF
(NA12878), population = subpop, continental_group = superpop.

SRA runs. Neither MAGE's repository nor its metadata map libraries to runs. The run of each library is read from
an SRA run table of PRJNA851328 given with --runinfo, made on a machine with internet access by any of:
    esearch -db sra -query PRJNA851328 | efetch -format runinfo > SraRunInfo.csv        (NCBI EDirect)
    https://www.ncbi.nlm.nih.gov/Traces/study/?acc=PRJNA851328 -> Metadata             (SraRunTable.csv)
    curl -o PRJNA851328.tsv 'https://www.ebi.ac.uk/ena/portal/api/filereport?accession=PRJNA851328&result=read_run&fields=run_accession,library_name,sample_alias,sample_title,read_count&format=tsv'
A run is matched to a library by its library name (then its sample name, then any other column) read as a
MAGE library ID (HG00237-7-2), an individual plus batch and replicate (HG00237_7_2, NA19129_b7_rep1) or a bare
1000 Genomes / Coriell ID (NA12878 or GM12878). An individual with several libraries is resolved by the names,
then by the read count (MAGE's read_counts against the run's spots or twice its spots), then by elimination.
Anything left ambiguous, a library claimed by two runs, or a library without a run is an error naming them;
--run LIBRARY=SRR settles a case by hand. Without --runinfo, run_accession is left empty (with a warning): such
a samplesheet has neither FASTQs nor runs and does not pass the pipeline's samplesheet check.

MAGE's sample swap (MAGE README, 2026-03-27/04-03): SRR19762530 is labelled HG00237 but carries NA11919's RNA,
SRR19762653 is labelled NA11919 but carries HG00237's RNA. By default the samplesheet keeps MAGE v1.0's labels
(what MAGE analysed; mage's identity gate is expected to flag both libraries) and assigns those two runs to
the libraries MAGE's methods review infers for them (HG00237 of batch 3 and GM11919). --fix-swap relabels the two
libraries with the individual whose RNA they carry. The replacement runs SRR37907958/SRR37907959 are not matched
automatically; give them with --run if the original runs have been withdrawn from SRA.

Exit status: 0 on success, 1 on bad input (one line on stderr), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import pandas as pd

OUTPUT_COLUMNS = ["sample", "individual", "population", "continental_group", "sex", "batch", "run_accession", "strandedness"]
STRANDEDNESS = ("auto", "unstranded", "forward", "reverse")
BIOPROJECT = "PRJNA851328"

# Metadata columns: mage name -> accepted names in MAGE's repo table and in the Zenodo tables.
METADATA_COLUMNS = {
    "library": ("sequencing_id", "internal_libraryID"),
    "individual": ("kgp_id", "sample_kgpID"),
    "continental_group": ("superpop", "continentalGroup"),
    "population": ("subpop", "population"),
    "sex": ("sex",),
    "batch": ("batch",),
}
OPTIONAL_METADATA_COLUMNS = {"read_counts": ("read_counts",), "run": ("run_accession", "SRA_accession")}
SEXES = {"female": "female", "f": "female", "male": "male", "m": "male"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
RUN_PATTERN = re.compile(r"^[SED]RR\d+$")

# A 1000 Genomes / Coriell individual, optionally followed by batch and replicate:
# NA12878, GM12878, HG00237-7-2, HG00237_7_2, HG00237_b7_rep2, HG00237.batch7.rep2
NAME_PATTERN = re.compile(
    r"^(?P<prefix>NA|GM|HG)(?P<number>\d{5})"
    r"(?:[-_. ]+(?:batch|b)?(?P<batch>\d{1,2})[-_. ]+(?:replicate|rep|r)?(?P<rep>\d{1,2}))?$",
    re.IGNORECASE,
)

# MAGE's sample swap: the two runs and the MAGE v1.0 library each of them holds (MAGE README; the library of
# SRR19762530 is inferred in the methods review, §4: HG00237's batch-3 library, not the batch-7 replicate
# SRR19762247 that MAGE mapped). What the RNA really is: SRR19762530 = NA11919, SRR19762653 = HG00237.
SWAP_RUNS = {"SRR19762530": "HG00237", "SRR19762653": "GM11919"}
SWAP_TRUE_INDIVIDUAL = {"HG00237": "NA11919", "GM11919": "HG00237"}  # library -> individual whose RNA it is
REPLACEMENT_RUNS = {"SRR37907958": "NA11919", "SRR37907959": "HG00237"}  # added to PRJNA851328 in 2026-04

# Run-table columns (compared lower-case without spaces, '_' or '-'): NCBI runinfo, Run Selector, ENA.
RUN_COLUMNS = ("run", "runaccession", "acc")
LIBRARY_NAME_COLUMNS = ("libraryname",)
SAMPLE_NAME_COLUMNS = ("samplename", "samplealias", "sampletitle", "submittedsampleid", "isolate", "cellline")
SPOTS_COLUMNS = ("spots", "readcount")
SIZE_COLUMNS = (("sizemb", 1e6), ("bytes", 1.0))  # runinfo size_MB, Run Selector Bytes
PROJECT_COLUMNS = ("bioproject", "studyaccession")


class InputError(Exception):
    """Bad input: reported as one line on stderr, exit status 1."""


def _key(column: str) -> str:
    return re.sub(r"[\s_-]+", "", column).lower()


def _pick(columns, names) -> str | None:
    keyed = {_key(c): c for c in columns}
    for name in names:
        if _key(name) in keyed:
            return keyed[_key(name)]
    return None


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV or TSV (delimiter from the header line) as strings; blank lines and repeated headers dropped."""
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: {what} is not a UTF-8 text table ({err.reason})") from err
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise InputError(f"{path}: {what} has no rows")
    delimiter = "\t" if "\t" in lines[0] else ","
    body = [lines[0]] + [line for line in lines[1:] if line != lines[0]]  # efetch repeats its header per batch
    try:
        table = pd.read_csv(io.StringIO("\n".join(body)), sep=delimiter, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(f"{path}: cannot parse {what} ({err})") from err
    return table.apply(lambda column: column.str.strip())


def read_metadata(path: Path) -> pd.DataFrame:
    """MAGE's library table with mage's column names, validated."""
    raw = read_table(path, "metadata")
    columns = {}
    for name, aliases in METADATA_COLUMNS.items():
        found = _pick(raw.columns, aliases)
        if found is None:
            raise InputError(f"{path}: no column {' or '.join(aliases)} (columns: {', '.join(raw.columns)})")
        columns[name] = found
    for name, aliases in OPTIONAL_METADATA_COLUMNS.items():
        found = _pick(raw.columns, aliases)
        if found is not None:
            columns[name] = found
    meta = pd.DataFrame({name: raw[column] for name, column in columns.items()})
    for line, row in zip(range(2, len(meta) + 2), meta.to_dict("records"), strict=True):
        for name in METADATA_COLUMNS:
            if not row[name]:
                raise InputError(f"{path} line {line}: column {columns[name]} is empty")
        for name in ("library", "individual"):
            if not ID_PATTERN.match(row[name]):
                raise InputError(f"{path} line {line}: {columns[name]} '{row[name]}' is not a plain identifier")
        if row["sex"].lower() not in SEXES:
            raise InputError(f"{path} line {line}: sex '{row['sex']}' is not male or female")
        if not re.fullmatch(r"\d+", row["batch"]):
            raise InputError(f"{path} line {line}: batch '{row['batch']}' is not a number")
        if "read_counts" in row and row["read_counts"] and not re.fullmatch(r"\d+", row["read_counts"]):
            raise InputError(f"{path} line {line}: read_counts '{row['read_counts']}' is not a count")
        if row.get("run") and not RUN_PATTERN.match(row["run"]):
            raise InputError(f"{path} line {line}: {columns['run']} '{row['run']}' is not an SRA/ENA/DDBJ run")
    meta["sex"] = meta["sex"].str.lower().map(SEXES)
    duplicated = meta["library"][meta["library"].duplicated()]
    if len(duplicated):
        raise InputError(f"{path}: library '{duplicated.iloc[0]}' appears more than once")
    for column in ("population", "continental_group", "sex"):
        values = meta.groupby("individual")[column].nunique()
        if (values > 1).any():
            individual = values[values > 1].index[0]
            raise InputError(f"{path}: individual {individual} has more than one {column}")
    return meta


def individual_of(name: str) -> tuple[str, str | None, str | None] | None:
    """(1000 Genomes ID, batch, replicate) named by a library or sample name, or None."""
    match = NAME_PATTERN.match(name.strip())
    if not match:
        return None
    prefix = "NA" if match["prefix"].upper() in ("NA", "GM") else "HG"
    batch = str(int(match["batch"])) if match["batch"] else None
    rep = str(int(match["rep"])) if match["rep"] else None
    return f"{prefix}{match['number']}", batch, rep


def candidates_for(name: str, meta: pd.DataFrame, libraries_of: dict[str, list[str]]) -> set[str]:
    """MAGE libraries a run/library/sample name can denote."""
    canonical = name.strip().replace("_", "-").upper()
    exact = [library for library in meta["library"] if library.upper() == canonical]
    parsed = individual_of(name)
    # A bare ID (HG00237) names the individual, not necessarily its original library: it can be any of the
    # individual's libraries. Only a library ID with batch and replicate, or an individual's only library, is exact.
    if exact and (parsed is None or parsed[1] is not None or len(libraries_of.get(parsed[0], [])) <= 1):
        return set(exact)
    if parsed is None:
        return set()
    individual, batch, rep = parsed
    libraries = libraries_of.get(individual, [])
    if batch is None:
        return set(libraries)
    batch_of = dict(zip(meta["library"], meta["batch"], strict=True))
    in_batch = [library for library in libraries if batch_of[library] == batch]
    named = [library for library in in_batch if library.endswith(f"-{batch}-{rep}")]
    return set(named or in_batch)


def count_matches(read_count: str, spots: int | None) -> bool:
    """MAGE's read_counts equal the run's spots (read pairs) or twice them (reads), within 0.1 %."""
    if spots is None or not read_count:
        return False
    count = int(read_count)
    return any(abs(count - k * spots) <= max(1, 0.001 * count) for k in (1, 2))


def read_runinfo(path: Path, bioproject: str) -> list[dict]:
    """Runs of the SRA/ENA run table: accession, names in matching order, spots."""
    table = read_table(path, "run table")
    run_column = _pick(table.columns, RUN_COLUMNS)
    if run_column is None:
        raise InputError(f"{path}: no run accession column (Run, run_accession) among {', '.join(table.columns)}")
    project_column = _pick(table.columns, PROJECT_COLUMNS)
    if project_column is not None:
        other = table[table[project_column] != bioproject]
        if len(other):
            print(f"NOTE: {len(other)} runs of {path} are not in {bioproject} and are ignored", file=sys.stderr)
        table = table[table[project_column] == bioproject]
        if table.empty:
            raise InputError(f"{path}: no run of {bioproject} ({project_column})")
    library_column = _pick(table.columns, LIBRARY_NAME_COLUMNS)
    sample_columns = [c for c in (_pick(table.columns, [name]) for name in SAMPLE_NAME_COLUMNS) if c]
    spots_column = _pick(table.columns, SPOTS_COLUMNS)
    bases_column, length_column = _pick(table.columns, ("bases",)), _pick(table.columns, ("avgspotlen",))
    size_column, size_unit = None, 0.0
    for name, unit in SIZE_COLUMNS:
        if _pick(table.columns, [name]):
            size_column, size_unit = _pick(table.columns, [name]), unit
            break
    named = [c for c in [library_column, *sample_columns] if c]
    others = [c for c in table.columns if c not in named and c != run_column]
    runs, seen = [], set()
    for row in table.to_dict("records"):
        run = row[run_column]
        if not RUN_PATTERN.match(run):
            raise InputError(f"{path}: '{run}' in column {run_column} is not an SRA/ENA/DDBJ run accession")
        if run in seen:
            continue
        seen.add(run)
        spots = None
        if spots_column and re.fullmatch(r"\d+", row[spots_column] or ""):
            spots = int(row[spots_column])
        elif bases_column and length_column and re.fullmatch(r"\d+", row[bases_column] or ""):
            length = float(row[length_column]) if re.fullmatch(r"\d+(\.\d+)?", row[length_column] or "") else 0
            spots = round(int(row[bases_column]) / length) if length > 0 else None
        names = [row[c] for c in named if row[c]] + [row[c] for c in others if row[c]]
        size = None
        if size_column and re.fullmatch(r"\d+(\.\d+)?", row[size_column] or ""):
            size = float(row[size_column]) * size_unit
        runs.append(
            {
                "run": run,
                "names": names,
                "spots": spots,
                "bytes": size,
                "library_name": row[library_column] if library_column else "",
            }
        )
    return runs


def resolve_runs(meta: pd.DataFrame, runs: list[dict], overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Library -> run, and notes; InputError when a library's run cannot be decided."""
    libraries = set(meta["library"])
    libraries_of = meta.groupby("individual")["library"].apply(list).to_dict()
    read_counts = dict(zip(meta["library"], meta["read_counts"], strict=True)) if "read_counts" in meta else {}
    notes, candidates = [], {}
    forced = {run: library for library, run in overrides.items()}
    for entry in runs:
        run = entry["run"]
        if run in forced:
            candidates[run] = {forced[run]}
            continue
        if run in REPLACEMENT_RUNS:
            notes.append(
                f"{run} ({REPLACEMENT_RUNS[run]}) is a 2026 replacement run for MAGE's sample swap and is not used; "
                "give it with --run if the original run is gone from SRA"
            )
            continue
        found = set()
        for name in entry["names"]:
            found = candidates_for(name, meta, libraries_of)
            if found:
                break
        if run in SWAP_RUNS:
            if found and SWAP_RUNS[run] not in found:
                notes.append(
                    f"{run}: SRA now names it '{entry['library_name'] or entry['names'][0]}'; "
                    f"assigned to MAGE v1.0 library {SWAP_RUNS[run]} (MAGE's sample swap)"
                )
            found = {SWAP_RUNS[run]}
        if len(found) > 1:
            by_count = {library for library in found if count_matches(read_counts.get(library, ""), entry["spots"])}
            if len(by_count) == 1:
                found = by_count
        if found:
            candidates[run] = found
        else:
            notes.append(f"{run} matches no MAGE library (names: {', '.join(entry['names'][:3]) or 'none'}); ignored")
    for library, run in overrides.items():
        if library not in libraries:
            raise InputError(f"--run {library}={run}: {library} is not a library of the metadata")
        candidates[run] = {library}
    # A library given by hand is taken away from every other run.
    for run, found in list(candidates.items()):
        if run not in forced and found & set(overrides):
            found = found - set(overrides)
            if found:
                candidates[run] = found
            else:
                del candidates[run]
                notes.append(f"{run} matched only libraries given with --run; ignored")
    # Elimination: a library claimed by a run with a single candidate is taken away from the others.
    changed = True
    while changed:
        changed = False
        settled = {next(iter(found)) for found in candidates.values() if len(found) == 1}
        for run, found in candidates.items():
            if len(found) > 1 and found & settled:
                left = found - settled
                if left:
                    candidates[run], changed = left, True
    ambiguous = {run: found for run, found in candidates.items() if len(found) > 1}
    if ambiguous:
        run, found = next(iter(sorted(ambiguous.items())))
        raise InputError(
            f"{len(ambiguous)} runs match several libraries, e.g. {run}: {', '.join(sorted(found))}; "
            f"settle them with --run LIBRARY={run}"
        )
    run_of: dict[str, str] = {}
    for run, found in sorted(candidates.items()):
        library = next(iter(found))
        if library in run_of:
            raise InputError(f"library {library} matches runs {run_of[library]} and {run}; settle it with --run {library}=<run>")
        run_of[library] = run
    return run_of, notes


def build(meta: pd.DataFrame, run_of: dict[str, str], strandedness: str, fix_swap: bool) -> pd.DataFrame:
    sheet = pd.DataFrame(
        {
            "sample": meta["library"],
            "individual": meta["individual"],
            "population": meta["population"],
            "continental_group": meta["continental_group"],
            "sex": meta["sex"],
            "batch": meta["batch"],
            "run_accession": [run_of.get(library, "") for library in meta["library"]],
            "strandedness": strandedness,
        }
    )
    if fix_swap:
        per_individual = meta.drop_duplicates("individual").set_index("individual")
        for library, individual in SWAP_TRUE_INDIVIDUAL.items():
            rows = sheet["sample"] == library
            if not rows.any() or individual not in per_individual.index:
                raise InputError(f"--fix-swap: library {library} or individual {individual} is not in the metadata")
            sheet.loc[rows, "individual"] = individual
            for column in ("population", "continental_group", "sex"):
                sheet.loc[rows, column] = per_individual.loc[individual, column]
    return sheet[OUTPUT_COLUMNS]


def summary(sheet: pd.DataFrame) -> str:
    individuals = sheet.drop_duplicates("individual")
    groups = individuals["continental_group"].value_counts().sort_index()
    sexes = individuals["sex"].value_counts().sort_index()
    per_individual = sheet.groupby("individual").size().value_counts().sort_index()
    return (
        f"{len(sheet)} libraries, {len(individuals)} individuals, {sheet['population'].nunique()} populations, "
        f"{sheet['continental_group'].nunique()} continental groups, {sheet['batch'].nunique()} batches; "
        f"individuals by group: {', '.join(f'{g} {n}' for g, n in groups.items())}; "
        f"by sex: {', '.join(f'{s} {n}' for s, n in sexes.items())}; "
        f"libraries per individual: {', '.join(f'{k}: {n}' for k, n in per_individual.items())}; "
        f"run_accession given for {int((sheet['run_accession'] != '').sum())}"
    )


def parse_overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        library, _, run = value.partition("=")
        if not library or not RUN_PATTERN.match(run):
            raise InputError(f"--run '{value}': expected LIBRARY=SRR... (e.g. HG00237=SRR37907958)")
        if library in overrides:
            raise InputError(f"--run: library {library} given twice")
        overrides[library] = run
    runs = list(overrides.values())
    if len(set(runs)) < len(runs):
        raise InputError("--run: one run given for two libraries")
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metadata", type=Path, required=True, help="MAGE's updated_metadata.tsv (or a Zenodo library table)")
    parser.add_argument("--runinfo", type=Path, help=f"SRA/ENA run table of {BIOPROJECT} (CSV or TSV)")
    parser.add_argument(
        "--bioproject", default=BIOPROJECT, help=f"keep runs of this project when the table says (default {BIOPROJECT})"
    )
    parser.add_argument(
        "--run", action="append", default=[], metavar="LIBRARY=RUN", help="assign a run to a library by hand (repeatable)"
    )
    parser.add_argument(
        "--strandedness", choices=STRANDEDNESS, default="auto", help="strandedness column for every library (default auto)"
    )
    parser.add_argument(
        "--fix-swap", action="store_true", help="relabel MAGE's two swapped libraries with the individual whose RNA they carry"
    )
    parser.add_argument(
        "--allow-unresolved", action="store_true", help="with --runinfo, write libraries without a run instead of failing"
    )
    parser.add_argument("--out", type=Path, required=True, help="samplesheet CSV to write")
    args = parser.parse_args(argv)
    try:
        meta = read_metadata(args.metadata)
        overrides = parse_overrides(args.run)
        run_of = {library: run for library, run in zip(meta["library"], meta.get("run", [""] * len(meta)), strict=True) if run}
        if args.runinfo:
            runs = read_runinfo(args.runinfo, args.bioproject)
            found, notes = resolve_runs(meta, runs, overrides)
            for note in notes:
                print(f"NOTE: {note}", file=sys.stderr)
            sizes = [entry["bytes"] for entry in runs if entry["run"] in set(found.values()) and entry["bytes"]]
            if sizes:
                print(
                    f"NOTE: the {len(sizes)} matched runs with a size in the run table hold "
                    f"{sum(sizes) / 1e12:.2f} TB of SRA data to download",
                    file=sys.stderr,
                )
            for library, run in found.items():
                if run_of.get(library, run) != run:
                    raise InputError(f"library {library}: the metadata gives run {run_of[library]}, the run table {run}")
            run_of.update(found)
        else:
            for library, run in overrides.items():
                if library not in set(meta["library"]):
                    raise InputError(f"--run {library}={run}: {library} is not a library of the metadata")
            run_of.update(overrides)
        sheet = build(meta, run_of, args.strandedness, args.fix_swap)
        missing = sheet.loc[sheet["run_accession"] == "", "sample"].tolist()
        if missing and args.runinfo and not args.allow_unresolved:
            raise InputError(
                f"{len(missing)} libraries have no run in {args.runinfo}, e.g. {', '.join(missing[:5])}; "
                "give them with --run LIBRARY=SRR or pass --allow-unresolved"
            )
        if missing:
            print(
                f"WARNING: {len(missing)} of {len(sheet)} libraries have no run_accession; until they have one "
                "(--runinfo, --run) the samplesheet does not pass SAMPLESHEET_CHECK",
                file=sys.stderr,
            )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(OUTPUT_COLUMNS)
            writer.writerows(sheet.itertuples(index=False, name=None))
        print(f"{args.out}: {summary(sheet)}", file=sys.stderr)
    except InputError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
