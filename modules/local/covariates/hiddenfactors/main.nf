process COVARIATES_HIDDENFACTORS {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(bed), path(tbi)
    path genotype_pcs
    path samples

    output:
    tuple val(meta), path("${prefix}.hidden_factors.tsv"), emit: factors
    tuple val(meta), path("${prefix}.expression_pca.tsv"), emit: variance
    path "${prefix}.*_mqc.json"                          , emit: multiqc
    path "versions.yml"                                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def genotype_pcs_arg = genotype_pcs ? "--genotype-pcs ${genotype_pcs}" : ''
    def samples_arg = samples ? "--samples ${samples}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus} OPENBLAS_NUM_THREADS=${task.cpus}
    hidden_factors.py \\
        --phenotypes ${bed} \\
        ${genotype_pcs_arg} \\
        ${samples_arg} \\
        --prefix ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(hidden_factors.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.hidden_factors.tsv ${prefix}.expression_pca.tsv ${prefix}.expression_pca_variance_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
