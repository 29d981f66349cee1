process SAMPLESHEET_CHECK {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(samplesheet)
    path vcf
    val base_dir

    output:
    tuple val(meta), path("${prefix}.samples.tsv"), emit: samples
    path "${prefix}.status.tsv"                   , emit: status
    path "versions.yml"                           , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def vcf_arg = vcf ? "--vcf ${vcf}" : ''
    """
    check_samplesheet.py \\
        ${samplesheet} \\
        --base-dir '${base_dir}' \\
        ${vcf_arg} \\
        --out ${prefix}.samples.tsv \\
        --status ${prefix}.status.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(check_samplesheet.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    printf 'sample\\tindividual\\tpopulation\\tcontinental_group\\tsex\\tbatch\\tstrandedness\\tsingle_end\\tfastq_1\\tfastq_2\\trun_accession\\n' > ${prefix}.samples.tsv
    printf 'sample\\tstep\\tstatus\\treason\\n' > ${prefix}.status.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
