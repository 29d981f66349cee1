//
// Reads to gene matrices: validate each library's FASTQ (and count its read pairs), FastQC, optional fastp,
// Salmon index (unless one is given) and quant, then one tximport-style task over all libraries that also checks
// each library's strandedness against the samplesheet.
//

include { FASTQ_VALIDATE } from '../../../modules/local/fastq/validate/main'
include { FASTQC_RUN     } from '../../../modules/local/fastqc/run/main'
include { FASTP_TRIM     } from '../../../modules/local/fastp/trim/main'
include { SALMON_INDEX   } from '../../../modules/local/salmon/index/main'
include { SALMON_QUANT   } from '../../../modules/local/salmon/quant/main'
include { TXIMPORT_GENES } from '../../../modules/local/tximport/genes/main'

workflow FASTQ_QC_QUANT_SALMON {

    take:
    ch_reads            // channel: [ val(meta), [ path(fastq_1), path(fastq_2) ] ]  meta: id, strandedness, single_end, ...
    ch_transcript_fasta // channel: path(transcripts.fa)   value channel
    ch_gtf              // channel: path(genes.gtf)        value channel
    ch_salmon_index     // channel: path(salmon index dir), or channel.empty() to build it from ch_transcript_fasta
    skip_fastqc         // boolean
    skip_trimming       // boolean

    main:
    ch_versions      = channel.empty()
    ch_multiqc_files = channel.empty()
    ch_status        = channel.empty()
    ch_gene_counts   = channel.empty()
    ch_gene_tpm      = channel.empty()
    ch_gene_lengths  = channel.empty()

    //
    // Validate every library first: a corrupt or unpaired FASTQ fails here with the file and the record
    //
    FASTQ_VALIDATE ( ch_reads )
    ch_read_pairs = FASTQ_VALIDATE.out.json
    ch_versions   = ch_versions.mix(FASTQ_VALIDATE.out.versions.first())
    ch_valid      = ch_reads
        .join(ch_read_pairs, failOnMismatch: true, failOnDuplicate: true)
        .map { meta, reads, _json -> [ meta, reads ] }

    if (!skip_fastqc) {
        FASTQC_RUN ( ch_valid )
        ch_multiqc_files = ch_multiqc_files.mix(FASTQC_RUN.out.zip.map { _meta, zip -> zip }.flatten())
        ch_versions      = ch_versions.mix(FASTQC_RUN.out.versions.first())
    }

    ch_quant_reads = ch_valid
    if (!skip_trimming) {
        FASTP_TRIM ( ch_valid )
        ch_quant_reads   = FASTP_TRIM.out.reads
        ch_multiqc_files = ch_multiqc_files.mix(FASTP_TRIM.out.json.map { _meta, json -> json })
        ch_versions      = ch_versions.mix(FASTP_TRIM.out.versions.first())
    }

    //
    // Salmon index: built only when none was given (the take is then empty)
    //
    ch_index_given = ch_salmon_index.map { _index -> true }.ifEmpty(false)
    ch_to_index    = ch_transcript_fasta
        .combine(ch_index_given)
        .filter { _fasta, given -> !given }
        .map { fasta, _given -> fasta }
    SALMON_INDEX ( ch_to_index )
    ch_versions = ch_versions.mix(SALMON_INDEX.out.versions)
    ch_index    = ch_salmon_index.mix(SALMON_INDEX.out.index).first()

    SALMON_QUANT ( ch_quant_reads, ch_index )
    ch_multiqc_files = ch_multiqc_files.mix(SALMON_QUANT.out.quant.map { _meta, quant -> quant })
    ch_versions      = ch_versions.mix(SALMON_QUANT.out.versions.first())

    //
    // One task over all libraries, inputs sorted by library ID so that -resume hits the cache
    //
    ch_quant_dirs = SALMON_QUANT.out.quant
        .map { _meta, quant -> quant }
        .collect(sort: { a, b -> a.name <=> b.name })
    ch_pair_jsons = ch_read_pairs
        .map { _meta, json -> json }
        .collect(sort: { a, b -> a.name <=> b.name })
    ch_declared = SALMON_QUANT.out.quant
        .map { meta, _quant -> "${meta.id}\t${meta.strandedness ?: 'auto'}" }
        .collectFile(name: 'declared_strandedness.tsv', seed: "sample\tstrandedness\n", newLine: true, sort: true)

    TXIMPORT_GENES ( ch_quant_dirs, ch_pair_jsons, ch_declared, ch_gtf )
    ch_gene_counts   = TXIMPORT_GENES.out.counts
    ch_gene_tpm      = TXIMPORT_GENES.out.tpm
    ch_gene_lengths  = TXIMPORT_GENES.out.lengths
    ch_status        = ch_status.mix(TXIMPORT_GENES.out.status)
    ch_multiqc_files = ch_multiqc_files.mix(TXIMPORT_GENES.out.multiqc.flatten())
    ch_versions      = ch_versions.mix(TXIMPORT_GENES.out.versions)

    emit:
    reads         = ch_quant_reads   // channel: [ val(meta), [ path(fastq_1), path(fastq_2) ] ]  validated (and trimmed)
    read_pairs    = ch_read_pairs    // channel: [ val(meta), path(<id>.fastq_check.json) ]        read_pairs, read_length
    quant         = SALMON_QUANT.out.quant // channel: [ val(meta), path(salmon quant dir) ]
    salmon_index  = ch_index         // channel: path(salmon index dir)
    gene_counts   = ch_gene_counts   // channel: path(gene_counts.tsv)   genes x libraries
    gene_tpm      = ch_gene_tpm      // channel: path(gene_tpm.tsv)
    gene_lengths  = ch_gene_lengths  // channel: path(gene_lengths.tsv)
    status        = ch_status        // channel: path(strandedness.status.tsv)
    multiqc_files = ch_multiqc_files // channel: path(file)
    versions      = ch_versions      // channel: path(versions.yml)
}
