"""Streaming FASTQ validation of paired (or single) gzip files, checked block by block with numpy.

A library fails with one message naming the file and the record (1-based) on: a truncated or corrupt gzip
stream, a record that is not four lines (``@`` header, sequence, ``+`` line, quality), sequence and quality of
different lengths, characters outside the IUPAC/quality alphabets, or mates whose record counts or read names
differ (names compared up to the first whitespace, with a trailing ``/1`` or ``/2`` removed).

Decompression (zlib, which releases the GIL) runs in one thread per mate; the checks are vectorised over blocks
of records, so the cost is dominated by inflating the gzip streams.
"""

from __future__ import annotations

import os
import queue
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .cli import InputError

READ_SIZE = 1 << 20  # compressed bytes per read() call
BLOCK_RECORDS = 1 << 16  # records checked per block (mate 2 is read in step with mate 1)
GZIP_MAGIC = b"\x1f\x8b"
NEWLINE, CR, SPACE, TAB = 10, 13, 32, 9

# IUPAC nucleotide codes (either case) plus '.', '-' and '*' used for missing bases by some tools.
SEQ_ALPHABET = np.zeros(256, dtype=bool)
SEQ_ALPHABET[np.frombuffer(b"ACGTUNRYSWKMBDHVacgtunryswkmbdhv.-*", dtype=np.uint8)] = True
QUAL_ALPHABET = np.zeros(256, dtype=bool)
QUAL_ALPHABET[33:127] = True  # Phred+33 printable range


class _StreamError(Exception):
    """Raised from a decompression thread; the reader adds the file name and the record number."""


def _inflate(path: str | os.PathLike) -> Iterator[bytes]:
    """Decompressed chunks of a gzip file (all members, CRC checked by zlib) or of a plain file."""
    with open(path, "rb") as handle:
        if handle.read(2) != GZIP_MAGIC:
            handle.seek(0)
            while chunk := handle.read(READ_SIZE):
                yield chunk
            return
        handle.seek(0)
        inflater, started = zlib.decompressobj(wbits=31), False
        while data := handle.read(READ_SIZE):
            while data:
                if not started:
                    data = data.lstrip(b"\0")  # gzip allows zero padding between and after members
                    if not data:
                        break
                try:
                    out = inflater.decompress(data)
                except zlib.error as err:
                    raise _StreamError(f"corrupt gzip data ({err})") from err
                started = True
                if out:
                    yield out
                if inflater.eof:
                    data, inflater, started = inflater.unused_data, zlib.decompressobj(wbits=31), False
                else:
                    data = b""
        if started:
            raise _StreamError("truncated gzip stream (the file ends inside a compressed block)")


def _threaded(chunks: Iterator[bytes], depth: int = 8) -> Iterator[bytes]:
    """Run a chunk generator in a background thread (inflating two mates on two cores)."""
    pipe: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        pipe.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            pipe.put(done)
        except BaseException as err:  # forwarded to the consumer, which re-raises it
            pipe.put(err)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (item := pipe.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


@dataclass
class Block:
    """Checked records of one mate: read-name bytes (n x width, zero padded), name lengths, sequence lengths."""

    names: np.ndarray
    name_lengths: np.ndarray
    seq_lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.seq_lengths)


class MateReader:
    """Reads complete FASTQ records from one file, ``take(n)`` records at a time, checking each block."""

    def __init__(self, path: str | os.PathLike, threaded: bool = True):
        self.path = str(path)
        chunks = _inflate(path)
        self._chunks = _threaded(chunks) if threaded else chunks
        self._pending: list[bytes] = []
        self._pending_lines = 0
        self._eof = False
        self.records = 0  # records returned so far

    def _fail(self, record: int, message: str) -> InputError:
        return InputError(f"{self.path}: record {record}: {message}")

    def _fill(self, lines: int) -> None:
        while self._pending_lines < lines and not self._eof:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._eof = True
                break
            except _StreamError as err:
                raise InputError(f"{self.path}: {err}, after {self.records} complete records were read") from None
            self._pending.append(chunk)
            self._pending_lines += chunk.count(b"\n")

    def take(self, n: int) -> Block:
        """The next ``n`` records (fewer only at the end of the file), checked."""
        self._fill(4 * n)
        data = b"".join(self._pending)
        if self._eof and data and not data.endswith(b"\n"):
            data += b"\n"  # a last line without its newline is still a line
        buf = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buf == NEWLINE)
        lines = min(len(newlines), 4 * n)
        if self._eof and lines < 4 * n and len(newlines) % 4:
            record = self.records + len(newlines) // 4 + 1
            raise self._fail(record, f"truncated record: the file ends after {len(newlines) % 4} of its 4 lines")
        cut = int(newlines[lines - 1]) + 1 if lines else 0
        rest = data[cut:]
        self._pending = [rest] if rest else []
        self._pending_lines = len(newlines) - lines
        block = self._check(buf[:cut], newlines[:lines])
        self.records += len(block)
        return block

    def _check(self, buf: np.ndarray, newlines: np.ndarray) -> Block:
        starts = np.concatenate(([0], newlines[:-1] + 1)).astype(np.int64)
        ends = newlines.astype(np.int64)
        if len(ends):
            ends = ends - ((buf[np.maximum(ends - 1, 0)] == CR) & (ends > starts))  # tolerate CRLF line ends
        head, seq, plus, qual = (slice(k, None, 4) for k in range(4))
        first = self.records + 1
        # buf[start] is the newline itself for an empty line, so empty headers and '+' lines fail here too
        bad = np.flatnonzero(buf[starts[head]] != ord("@"))
        if len(bad):
            raise self._fail(first + bad[0], "header line does not start with '@' (not a 4-line FASTQ record)")
        bad = np.flatnonzero(buf[starts[plus]] != ord("+"))
        if len(bad):
            raise self._fail(first + bad[0], "third line does not start with '+' (not a 4-line FASTQ record)")
        seq_lengths = ends[seq] - starts[seq]
        qual_lengths = ends[qual] - starts[qual]
        bad = np.flatnonzero(seq_lengths != qual_lengths)
        if len(bad):
            i = bad[0]
            raise self._fail(first + i, f"sequence length {seq_lengths[i]} differs from quality length {qual_lengths[i]}")
        self._check_alphabet(buf, starts[seq], ends[seq], SEQ_ALPHABET, "sequence", first)
        self._check_alphabet(buf, starts[qual], ends[qual], QUAL_ALPHABET, "quality", first)
        names, name_lengths = _read_names(buf, starts[head] + 1, ends[head])
        return Block(names, name_lengths, seq_lengths)

    def _check_alphabet(self, buf, starts, ends, alphabet, what, first) -> None:
        inside = np.zeros(len(buf) + 1, dtype=np.int8)
        inside[starts] += 1  # starts are distinct, and so are ends: plain fancy indexing is enough
        inside[ends] -= 1
        mask = np.cumsum(inside[:-1], dtype=np.int8).view(bool)
        bad = np.flatnonzero(mask & ~alphabet[buf])
        if len(bad):
            record = int(np.searchsorted(starts, bad[0], side="right")) - 1
            raise self._fail(first + record, f"invalid {what} character {chr(buf[bad[0]])!r}")


def _read_names(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read names up to the first space or tab, without a trailing /1 or /2, as a zero-padded byte matrix."""
    blanks = np.flatnonzero((buf == SPACE) | (buf == TAB))
    nxt = np.searchsorted(blanks, starts)
    first_blank = np.append(blanks, len(buf))[nxt]
    stop = np.minimum(first_blank, ends)
    lengths = stop - starts
    mate_suffix = (lengths >= 2) & (buf[np.maximum(stop - 2, 0)] == ord("/")) & np.isin(buf[np.maximum(stop - 1, 0)], (49, 50))
    lengths = lengths - 2 * mate_suffix
    width = int(lengths.max()) if len(lengths) else 0
    offsets = np.arange(width)
    index = np.minimum(starts[:, None] + offsets, len(buf) - 1)
    names = np.where(offsets < lengths[:, None], buf[index], 0).astype(np.uint8)
    return names, lengths


@dataclass
class FastqSummary:
    read_pairs: int
    read_length: int
    mean_read_length: float


def _compare_mates(block1: Block, block2: Block, path2: str, first: int) -> None:
    bad = np.flatnonzero(block1.name_lengths != block2.name_lengths)
    width = min(block1.names.shape[1], block2.names.shape[1])
    differ = (block1.names[:, :width] != block2.names[:, :width]).any(axis=1)
    bad = np.union1d(bad, np.flatnonzero(differ))
    if len(bad):
        i = bad[0]
        name1 = block1.names[i, : block1.name_lengths[i]].tobytes().decode(errors="replace")
        name2 = block2.names[i, : block2.name_lengths[i]].tobytes().decode(errors="replace")
        raise InputError(f"{path2}: record {first + i}: read name '{name2}' does not match mate 1 '{name1}'")


def check_fastq(fastq_1: str | os.PathLike, fastq_2: str | os.PathLike | None = None, threaded: bool = True) -> FastqSummary:
    """Validate one library (single or paired) by streaming it; return its pair count and read lengths."""
    mate1 = MateReader(fastq_1, threaded)
    mate2 = MateReader(fastq_2, threaded) if fastq_2 is not None else None
    pairs, longest, total_bases, reads = 0, 0, 0, 0
    while True:
        block1 = mate1.take(BLOCK_RECORDS)
        blocks = [block1]
        if mate2 is not None:
            block2 = mate2.take(len(block1)) if len(block1) else mate2.take(1)
            if len(block2) != len(block1):
                shorter, longer = (mate1, mate2) if len(block1) < len(block2) else (mate2, mate1)
                raise InputError(
                    f"{shorter.path}: ends after {shorter.records} records, but its mate {longer.path} has more "
                    f"(record {shorter.records + 1} is missing)"
                )
            _compare_mates(block1, block2, mate2.path, pairs + 1)
            blocks.append(block2)
        if not len(block1):
            break
        pairs += len(block1)
        for block in blocks:
            longest = max(longest, int(block.seq_lengths.max()))
            total_bases += int(block.seq_lengths.sum())
            reads += len(block)
    if pairs == 0:
        raise InputError(f"{mate1.path}: no FASTQ records")
    return FastqSummary(read_pairs=pairs, read_length=longest, mean_read_length=total_bases / reads)
