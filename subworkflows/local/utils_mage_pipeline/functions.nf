/*
========================================================================================
    Functions the main workflow uses: genotype and read inputs, library meta maps, and the MultiQC
    content for versions, parameters and methods. Kept apart from main.nf, which includes the nf-schema
    plugin: the strict parser (NXF_SYNTAX_PARSER=v2, Nextflow 25.04) rejects a file with plugin includes
    that is included from two folders (main.nf and workflows/mage.nf).
========================================================================================
*/

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
    // Run-specific values (the report suffix is a timestamp by default) are left out, so that -resume finds
    // MultiQC's inputs unchanged and reuses its report
    def per_run = [ 'trace_report_suffix', 'runName' ]
    def rows = summary_params.collectMany { _group, group_params ->
        group_params.findAll { key, _value -> !(key in per_run) }.collect { key, value -> "        <dt>${key}</dt><dd><samp>${value ?: '<span style=\"color:#999999;\">N/A</span>'}</samp></dd>" }
    }
    return """
    id: '${workflow.manifest.name.replace('/', '-')}-summary'
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
    // The command without what changes between a run and its resume, so that -resume reuses the report
    def command = workflow.commandLine
        .replaceAll(/\s+-resume(\s+[0-9a-f-]{36})?/, '')
        .replaceAll(/\s+--trace_report_suffix[\s=]+\S+/, '')
    def meta = [
        workflow       : workflow.toMap() + [ commandLine: command ],
        tool_citations : '<li>Salmon, tximport, STAR, samtools, bcftools, plink2, FastQC, fastp, MultiQC (see CITATIONS.md)</li>'
    ]
    def engine = new groovy.text.SimpleTemplateEngine()
    return engine.createTemplate(mqc_methods_yaml.text).make(meta).toString()
}
