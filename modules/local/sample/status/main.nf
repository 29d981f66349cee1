process SAMPLE_STATUS {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(samples)
    path fragments, stageAs: 'fragments/*'

    output:
    tuple val(meta), path("${prefix}.tsv"), emit: table
    path "${prefix}_mqc.tsv"              , emit: multiqc
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "sample_status"
    """
    sample_status.py \\
        --samples ${samples} \\
        --out ${prefix}.tsv \\
        --multiqc ${prefix}_mqc.tsv \\
        ${args} \\
        ${fragments}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(sample_status.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "sample_status"
    """
    printf 'sample\\tindividual\\tstatus\\tsteps\\treason\\n' > ${prefix}.tsv
    touch ${prefix}_mqc.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
