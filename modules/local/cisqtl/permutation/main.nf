process CISQTL_PERMUTATION {
    tag "${meta.id} chunk ${chunk}/${n_chunks}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(phenotypes), path(phenotypes_index), val(chunk), val(n_chunks)
    path genotypes
    path covariates
    path groups

    output:
    tuple val(meta), val(chunk), path("${prefix}.cis_qtl.txt.gz"), emit: table
    path "versions.yml"                                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def group_arg = groups ? "--groups ${groups}" : ''
    prefix = task.ext.prefix ?: "${meta.id}.chunk" + String.format('%04d', chunk as int)
    """
    cis_qtl.py permutation \\
        --genotypes ${genotypes} \\
        --phenotypes ${phenotypes} \\
        --covariates ${covariates} \\
        ${group_arg} \\
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
    printf 'phenotype_id\\tnum_var\\tbeta_shape1\\tbeta_shape2\\ttrue_df\\tpval_true_df\\tvariant_id\\ttss_distance\\tma_samples\\tma_count\\taf\\tpval_nominal\\tslope\\tslope_se\\tpval_perm\\tpval_beta\\tnum_perm\\tphenotype_chr\\tphenotype_tss\\n' | gzip -n > ${prefix}.cis_qtl.txt.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
