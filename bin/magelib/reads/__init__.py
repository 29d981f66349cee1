"""From reads to gene matrices (MAGE §2.2-2.3): samplesheet, FASTQ integrity, strandedness, tximport gene summaries."""
