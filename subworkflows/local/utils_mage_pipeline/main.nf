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

/*
    The genotype VCFs as [ vcf, index ] pairs sorted by file name: --vcf is one path, a glob or a comma-separated
    list (e.g. one VCF per chromosome, as the 1000 Genomes panel), each with its .tbi or .csi beside it.
*/
def vcfsWithIndex(String spec) {
    def vcfs = spec.tokenize(',').collect { item -> item.trim() }.findAll { item -> item }.collectMany { item ->
        def found = files(item)
        if (!found || !found.every { vcf -> vcf.exists() }) {
            error("--vcf: no file matches '${item}'")
        }
        found
    }
    if (!vcfs) {
        error("--vcf is empty: give a VCF, a glob or a comma-separated list of VCFs")
    }
    def names = vcfs.collect { vcf -> vcf.name }
    def repeated = names.findAll { name -> names.count(name) > 1 }.unique()
    if (repeated) {
        error("--vcf: two VCFs share the file name '${repeated[0]}'; give files with distinct names")
    }
    return vcfs.sort { vcf -> vcf.name }.collect { vcf ->
        // by URI: a remote path printed as a string loses its scheme and host
        def index = [ '.tbi', '.csi' ].collect { suffix -> file(vcf.toUriString() + suffix) }.find { candidate -> candidate.exists() }
        if (!index) {
            error("No index for ${vcf}: expected ${vcf}.tbi or ${vcf}.csi (bcftools index -t ${vcf})")
        }
        [ vcf, index ]
    }
}

/*
    The FASTQ files of one row of the checked sample table; a missing file is an error naming the samplesheet line.
*/
def libraryReads(Map row, sheet) {
    def columns = row.single_end == 'true' ? [ 'fastq_1' ] : [ 'fastq_1', 'fastq_2' ]
    return columns.collect { column ->
        def fastq = file(row[column])
        if (!fastq.exists()) {
            error("${sheet} line ${row.line}, column '${column}': file not found: ${row[column]}")
        }
        fastq
    }
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
    The workflow's own versions, as a block of the collated software versions.
*/
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
    def rows = summary_params.collectMany { _group, group_params ->
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
