process COVARIATES_ASSEMBLE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(bed), path(tbi)
    path genotype_pcs
    path hidden_factors
    path samples
    path focal

    output:
    tuple val(meta), path("${prefix}.covariates.txt"), emit: covariates
    path "${prefix}.genotype_pca_mqc.json"           , emit: multiqc, optional: true
    path "versions.yml"                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def hidden_arg = hidden_factors ? "--hidden-factors ${hidden_factors}" : ''
    """
    assemble_covariates.py \\
        --phenotypes ${bed} \\
        --genotype-pcs ${genotype_pcs} \\
        ${hidden_arg} \\
        --samples ${samples} \\
        --focal ${focal} \\
        --prefix ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(assemble_covariates.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.covariates.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
