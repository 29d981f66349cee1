/*
========================================================================================
    Pipeline start and finish: parameter validation, reference checks, completion summary,
    and the helpers that turn versions and parameters into MultiQC content.
========================================================================================
*/

include { validateParameters; paramsSummaryLog } from 'plugin/nf-schema'

workflow PIPELINE_INITIALISATION {

    take:
    version          // boolean: print the version and stop
    validate_params  // boolean: validate params against nextflow_schema.json
    input            // string: path to the samplesheet

    main:
    if (version) {
        log.info "${workflow.manifest.name} ${workflow.manifest.version}"
        System.exit(0)
    }
    if (validate_params) {
        validateParameters()
    }
    log.info paramsSummaryLog(workflow)
    checkRequiredParams()

    ch_samplesheet = channel.value([ [ id: 'samplesheet' ], file(input, checkIfExists: true) ])

    emit:
    samplesheet = ch_samplesheet // channel: [ val(meta), path(samplesheet) ]
}

workflow PIPELINE_COMPLETION {

    take:
    outdir          // string: the results directory
    multiqc_report  // channel: path(multiqc_report.html)

    main:
    def report_files = []
    multiqc_report.toList().subscribe { files -> report_files.addAll(files) }

    // Handlers call functions: inside the handler closure `workflow` is not the run's metadata
    workflow.onComplete {
        completionSummary(outdir, report_files)
    }
    workflow.onError {
        errorSummary()
    }
}

def errorSummary() {
    log.error "-[${workflow.manifest.name}] pipeline failed: ${workflow.errorMessage}"
}

/*
    One line on how the run ended, and where its MultiQC report is.
*/
def completionSummary(outdir, report_files) {
    def status = workflow.success ? 'completed' : 'failed'
    log.info "-[${workflow.manifest.name}] pipeline ${status}; results in ${outdir}"
    if (workflow.success && report_files) {
        log.info "-[${workflow.manifest.name}] MultiQC report: ${outdir}/multiqc/${file(report_files[0]).name}"
    }
}

/*
    Fail before any task starts when a reference the requested stages need is missing.
*/
def checkRequiredParams() {
    def missing = []
    if (!params.vcf)                                      missing << '--vcf'
    if (!params.gtf)                                      missing << '--gtf'
    if (!params.transcript_fasta && !params.salmon_index) missing << '--transcript_fasta (or --salmon_index)'
    if (!params.skip_alignment && !params.fasta && !params.star_index) missing << '--fasta (or --star_index, or --skip_alignment)'
    if (missing) {
        error("Missing required parameters: ${missing.join(', ')}. See docs/usage.md.")
    }
}
