"""Library strandedness from Salmon's ``lib_format_counts.json``, checked against the samplesheet.

Salmon counts every mapped fragment by its observed orientation. Pairs whose read 1 lies on the transcript's
strand are "sense" (formats ISF, OSF, MSF), the others antisense (ISR, OSR, MSR). Orphan mates (SF, SR) are
labelled by the read's own orientation whichever mate it is, so they say nothing about a paired library and are
used only when a library has no pairs (single-end). With ``sense`` and ``antisense`` those counts, ``n`` their sum:

- forward    (Salmon ISF, e.g. ligation / Illumina "stranded forward"): sense / n >= stranded threshold (0.8);
- reverse    (Salmon ISR, dUTP / TruSeq stranded): antisense / n >= stranded threshold;
- unstranded (Salmon IU): |sense - antisense| / n <= unstranded threshold (0.1), i.e. 45-55 % sense;
- undetermined otherwise, and "insufficient" below ``min_fragments`` stranded fragments (no call, never flagged).

These are nf-core/rnaseq's thresholds. A samplesheet value ``auto`` always agrees.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..cli import InputError

PAIRED_SENSE, PAIRED_ANTISENSE = ("ISF", "OSF", "MSF"), ("ISR", "OSR", "MSR")
SENSE, ANTISENSE = PAIRED_SENSE + ("SF",), PAIRED_ANTISENSE + ("SR",)
DECLARED = ("auto", "unstranded", "forward", "reverse")
SALMON_LIBTYPE = {"unstranded": "IU", "forward": "ISF", "reverse": "ISR"}


@dataclass
class Call:
    sample: str
    declared: str
    detected: str  # forward, reverse, unstranded, undetermined or insufficient
    sense_fraction: float
    fragments: int
    salmon_format: str

    @property
    def agrees(self) -> bool:
        return self.declared == "auto" or self.detected == "insufficient" or self.detected == self.declared

    def describe(self) -> str:
        return (
            f"samplesheet says {self.declared} ({SALMON_LIBTYPE.get(self.declared, '?')}) but Salmon detected "
            f"{self.detected} ({100 * self.sense_fraction:.1f}% of {self.fragments} stranded fragments sense)"
        )


def read_format_counts(path: str | os.PathLike) -> dict:
    try:
        with open(path) as handle:
            counts = json.load(handle)
    except FileNotFoundError as err:
        raise InputError(f"{path}: Salmon lib_format_counts.json not found") from err
    except ValueError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err
    missing = [key for key in SENSE + ANTISENSE if key not in counts]
    if missing:
        raise InputError(f"{path}: no '{missing[0]}' count; is this a Salmon lib_format_counts.json?")
    return counts


def detect(counts: dict, stranded_threshold: float = 0.8, unstranded_threshold: float = 0.1, min_fragments: int = 500):
    """(call, sense fraction, stranded fragments) from one library's format counts."""
    sense = sum(int(counts[k]) for k in PAIRED_SENSE)
    antisense = sum(int(counts[k]) for k in PAIRED_ANTISENSE)
    if sense + antisense == 0:  # single-end library: the orphan formats are the reads themselves
        sense, antisense = int(counts["SF"]), int(counts["SR"])
    total = sense + antisense
    fraction = sense / total if total else float("nan")
    if total < max(min_fragments, 1):
        call = "insufficient"
    elif sense >= stranded_threshold * total:
        call = "forward"
    elif antisense >= stranded_threshold * total:
        call = "reverse"
    elif abs(sense - antisense) <= unstranded_threshold * total:
        call = "unstranded"
    else:
        call = "undetermined"
    return call, fraction, total


def check(
    declared: dict[str, str],
    format_counts: dict[str, dict],
    stranded_threshold: float = 0.8,
    unstranded_threshold: float = 0.1,
    min_fragments: int = 500,
) -> list[Call]:
    """One call per library (sorted by ID); ``declared`` maps library -> samplesheet strandedness."""
    calls = []
    for sample in sorted(format_counts):
        if sample not in declared:
            raise InputError(f"library '{sample}' has Salmon output but no declared strandedness")
        if declared[sample] not in DECLARED:
            raise InputError(f"library '{sample}': strandedness '{declared[sample]}' is not one of {', '.join(DECLARED)}")
        counts = format_counts[sample]
        detected, fraction, total = detect(counts, stranded_threshold, unstranded_threshold, min_fragments)
        calls.append(Call(sample, declared[sample], detected, fraction, total, str(counts.get("expected_format", ""))))
    return calls
