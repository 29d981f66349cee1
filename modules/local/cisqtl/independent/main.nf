process CISQTL_INDEPENDENT {
    tag "${meta.id} chunk ${chunk}/${n_chunks}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(phenotypes), path(phenotypes_index), val(chunk), val(n_chunks)
    path genotypes
    path covariates
    path groups
    path fdr_table

    output:
    tuple val(meta), val(chunk), path("${prefix}.cis_independent_qtl.txt"), emit: table
    path "versions.yml"                                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def group_arg = groups ? "--groups ${groups}" : ''
    prefix = task.ext.prefix ?: "${meta.id}.chunk" + String.format('%04d', chunk as int)
    """
    cis_qtl.py independent \\
        --genotypes ${genotypes} \\
        --phenotypes ${phenotypes} \\
        --covariates ${covariates} \\
        ${group_arg} \\
        --permutation-table ${fdr_table} \\
        --chunk ${chunk} ${n_chunks} \\
        --threads ${task.cpus} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(cis_qtl.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.chunk" + String.format('%04d', chunk as int)
    """
    printf 'phenotype_id\\tvariant_id\\tpval_beta\\trank\\n' > ${prefix}.cis_independent_qtl.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
