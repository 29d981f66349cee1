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

from ..cli import InputError

READ_SIZE = 1 << 20  # compressed bytes per read() call
BLOCK_RECORDS = 1 << 16  # records checked per block (mate 2 is read in step with mate 1)
GZIP_MAGIC = b"\x1f\x8b"
NEWLINE, CR, SPACE, TAB = 10, 13, 32, 9


# Byte classes, looked up with bytes.translate (the fastest whole-buffer lookup in CPython):
# bit 1 = not allowed in a sequence line, bit 2 = not allowed in a quality line, 4 = blank (ends a read name),
# 8 = newline.
NOT_SEQ, NOT_QUAL, BLANK, LINE_END = 1, 2, 4, 8
_classes = np.full(256, NOT_SEQ | NOT_QUAL, dtype=np.uint8)


_classes[np.frombuffer(b"ACGTUNRYSWKMBDHVacgtunryswkmbdhv.-*", dtype=np.uint8)] &= ~np.uint8(NOT_SEQ)  # IUPAC + gap/missing


_classes[33:127] &= ~np.uint8(NOT_QUAL)  # Phred+33 printable range


_classes[CR] = 0  # tolerated before a newline
_classes[NEWLINE] = LINE_END  # allowed in every line (each line segment holds its newline)


_classes[[SPACE, TAB]] |= BLANK


BYTE_CLASSES = _classes.tobytes()


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
    """Checked records of one mate: read names (bytes, mate suffix removed) and sequence lengths."""

    names: list[bytes]
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
        self._pending_bytes = 0
        self._record_bytes = 1024.0  # running estimate of bytes per record, to read about one block at a time
        self._eof = False
        self.records = 0  # records returned so far

    def _fail(self, record: int, message: str) -> InputError:
        return InputError(f"{self.path}: record {record}: {message}")

    def _fill(self, nbytes: float) -> None:
        while self._pending_bytes < nbytes and not self._eof:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._eof = True
                break
            except _StreamError as err:
                raise InputError(f"{self.path}: {err}, after {self.records} complete records were read") from None
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)

    def take(self, n: int) -> Block:
        """The next ``n`` records (fewer only at the end of the file), checked."""
        self._fill(n * self._record_bytes * 1.05)
        while True:
            data = b"".join(self._pending)
            if self._eof and data and not data.endswith(b"\n"):
                data += b"\n"  # a last line without its newline is still a line
            classes = np.frombuffer(data.translate(BYTE_CLASSES), dtype=np.uint8)
            marks = np.flatnonzero(classes >= BLANK)  # newlines and blanks in one pass
            newlines = marks[classes[marks] == LINE_END]
            if len(newlines) >= 4 * n or self._eof:
                break
            self._pending = [data]
            self._fill(len(data) + (4 * n - len(newlines)) * self._record_bytes / 4 * 1.05 + READ_SIZE)
        lines = min(len(newlines) // 4 * 4, 4 * n)
        cut = int(newlines[lines - 1]) + 1 if lines else 0
        rest = data[cut:]
        self._pending, self._pending_bytes = ([rest] if rest else []), len(rest)
        blanks = marks[(classes[marks] & BLANK).astype(bool) & (marks < cut)]
        block = self._check(data[:cut], classes[:cut], newlines[:lines], blanks)  # earlier errors first
        if lines < 4 * n and len(newlines) % 4:
            record = self.records + len(block) + 1
            raise self._fail(record, f"truncated record: the file ends after {len(newlines) % 4} of its 4 lines")
        if len(block):
            self._record_bytes = 0.5 * self._record_bytes + 0.5 * cut / len(block)
        self.records += len(block)
        return block

    def _check(self, data: bytes, classes: np.ndarray, newlines: np.ndarray, blanks: np.ndarray) -> Block:
        if not len(newlines):
            return Block([], np.zeros(0, dtype=np.int64))
        buf = np.frombuffer(data, dtype=np.uint8)
        starts = np.concatenate(([0], newlines[:-1] + 1)).astype(np.int64)
        ends = newlines.astype(np.int64)
        ends = ends - ((buf[np.maximum(ends - 1, 0)] == CR) & (ends > starts))  # tolerate CRLF line ends
        head, seq, plus, qual = (slice(k, None, 4) for k in range(4))
        first = self.records + 1
        # buf[start] is the newline itself for an empty line, so empty headers and '+' lines fail here too
        bad_head = np.flatnonzero(buf[starts[head]] != ord("@"))
        bad_plus = np.flatnonzero(buf[starts[plus]] != ord("+"))
        if len(bad_head) or len(bad_plus):
            at_head = bad_head[0] if len(bad_head) else len(ends)
            at_plus = bad_plus[0] if len(bad_plus) else len(ends)
            if at_head <= at_plus:
                raise self._fail(first + at_head, "header line does not start with '@' (not a 4-line FASTQ record)")
            raise self._fail(first + at_plus, "third line does not start with '+' (not a 4-line FASTQ record)")
        seq_lengths = ends[seq] - starts[seq]
        qual_lengths = ends[qual] - starts[qual]
        bad = np.flatnonzero(seq_lengths != qual_lengths)
        if len(bad):
            i = bad[0]
            raise self._fail(first + i, f"sequence length {seq_lengths[i]} differs from quality length {qual_lengths[i]}")
        line_classes = np.bitwise_or.reduceat(classes, starts)  # one OR per line (every line holds its newline)
        for offset, flag, what in ((1, NOT_SEQ, "sequence"), (3, NOT_QUAL, "quality")):
            bad = np.flatnonzero(line_classes[offset::4] & flag)
            if len(bad):
                line = 4 * bad[0] + offset
                where = starts[line] + np.flatnonzero(classes[starts[line] : ends[line]] & flag)[0]
                raise self._fail(first + bad[0], f"invalid {what} character {chr(buf[where])!r}")
        return Block(_read_names(data, buf, blanks, starts[head] + 1, ends[head]), seq_lengths)


def _read_names(data: bytes, buf: np.ndarray, blanks: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[bytes]:
    """Read names up to the first blank, without a trailing /1 or /2."""
    stop = np.minimum(np.append(blanks, len(buf))[np.searchsorted(blanks, starts)], ends)
    tail = np.maximum(stop - 2, 0)
    mate_suffix = (stop - starts >= 2) & (buf[tail] == ord("/")) & ((buf[tail + 1] == ord("1")) | (buf[tail + 1] == ord("2")))
    stop = stop - 2 * mate_suffix
    return [data[s:e] for s, e in zip(starts.tolist(), stop.tolist(), strict=True)]


@dataclass
class FastqSummary:
    read_pairs: int
    read_length: int
    mean_read_length: float


def _compare_mates(block1: Block, block2: Block, path2: str, first: int) -> None:
    if block1.names == block2.names:  # list comparison runs in C; the slow search below only on failure
        return
    i = next(k for k, (a, b) in enumerate(zip(block1.names, block2.names, strict=True)) if a != b)
    name1, name2 = block1.names[i].decode(errors="replace"), block2.names[i].decode(errors="replace")
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
