//
// Download FASTQ (paired or single-end) for samplesheet rows that give an SRA/ENA run accession instead of files:
// prefetch (with retries, vdb-validate) then fasterq-dump --split-files, gzipped as <library>_1/_2.fastq.gz.
//

include { SRATOOLS_PREFETCH    } from '../../../modules/local/sratools/prefetch/main'
include { SRATOOLS_FASTERQDUMP } from '../../../modules/local/sratools/fasterqdump/main'

workflow FASTQ_DOWNLOAD_SRATOOLS {

    take:
    ch_sra // channel: [ val(meta), val(run_accession) ]

    main:
    ch_versions = channel.empty()
    ch_reads    = channel.empty()

    SRATOOLS_PREFETCH ( ch_sra )
    ch_versions = ch_versions.mix(SRATOOLS_PREFETCH.out.versions.first())

    SRATOOLS_FASTERQDUMP ( SRATOOLS_PREFETCH.out.sra )
    // A run's layout is known only once it is downloaded: one file is a single-end library
    ch_reads    = SRATOOLS_FASTERQDUMP.out.reads.map { meta, fastq ->
        def fastqs = fastq instanceof List ? fastq : [ fastq ]
        [ meta + [ single_end: fastqs.size() == 1 ], fastqs ]
    }
    ch_versions = ch_versions.mix(SRATOOLS_FASTERQDUMP.out.versions.first())

    emit:
    reads    = ch_reads    // channel: [ val(meta), [ path(fastq_1), path(fastq_2) ] ]
    versions = ch_versions // channel: [ path(versions.yml) ]
}
