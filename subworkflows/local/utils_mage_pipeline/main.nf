/*
========================================================================================
    Pipeline start and finish: parameter validation, reference checks, completion summary,
    and the helpers that turn versions and parameters into MultiQC content.
========================================================================================
*/

include { validateParameters; paramsSummaryLog; paramsSummaryMap } from 'plugin/nf-schema'

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

    workflow.onComplete {
        def status = workflow.success ? 'completed' : 'failed'
        log.info "-[${workflow.manifest.name}] pipeline ${status}; results in ${outdir}"
        if (workflow.success && report_files) {
            log.info "-[${workflow.manifest.name}] MultiQC report: ${outdir}/multiqc/${file(report_files[0]).name}"
        }
    }
    workflow.onError {
        log.error "-[${workflow.manifest.name}] pipeline failed: ${workflow.errorMessage}"
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

/*
    The VCF and its index (.tbi or .csi), as one value.
*/
def vcfWithIndex(String vcf) {
    def index = [ "${vcf}.tbi", "${vcf}.csi" ].find { file(it).exists() }
    if (!index) {
        error("No index for ${vcf}: expected ${vcf}.tbi or ${vcf}.csi (bcftools index -t).")
    }
    return [ file(vcf, checkIfExists: true), file(index) ]
}

/*
    Meta map of one library from a row of the checked sample table.
*/
def libraryMeta(Map row) {
    return [
        id               : row.sample,
        individual       : row.individual,
        population       : row.population,
        continental_group: row.continental_group,
        sex              : row.sex,
        batch            : row.batch,
        strandedness     : row.strandedness,
        single_end       : row.single_end == 'true'
    ]
}

/*
    Collated software versions as YAML, one block per process, sorted, for MultiQC.
*/
def softwareVersionsToYAML(ch_versions) {
    return ch_versions
        .unique()
        .map { versions_file -> file(versions_file).text.trim() }
        .unique()
        .mix(channel.of(workflowVersionToYAML()))
}

def workflowVersionToYAML() {
    return """
    Workflow:
        ${workflow.manifest.name}: ${workflow.manifest.version}
        Nextflow: ${workflow.nextflow.version}
    """.stripIndent().trim()
}

/*
    Workflow summary (the parameters that differ from defaults) as MultiQC custom content.
*/
def paramsSummaryMultiqc(summary_params) {
    def rows = summary_params.collectMany { group, group_params ->
        group_params.collect { key, value -> "        <dt>${key}</dt><dd><samp>${value ?: '<span style=\"color:#999999;\">N/A</span>'}</samp></dd>" }
    }
    return """
    id: 'mage-summary'
    description: ' - this information is collected when the pipeline is started.'
    section_name: 'mage Workflow Summary'
    plot_type: 'html'
    data: |
        <dl class="dl-horizontal">
${rows.join('\n')}
        </dl>
    """.stripIndent()
}

/*
    Methods description for MultiQC, from assets/methods_description_template.yml.
*/
def methodsDescriptionText(mqc_methods_yaml) {
    def meta = [
        workflow       : workflow.toMap(),
        tool_citations : '<li>Salmon, tximport, STAR, samtools, bcftools, plink2, FastQC, fastp, MultiQC (see CITATIONS.md)</li>'
    ]
    def engine = new groovy.text.SimpleTemplateEngine()
    return engine.createTemplate(mqc_methods_yaml.text).make(meta).toString()
}
