process FINEMAP_SUSIE {
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
    tuple val(meta), val(chunk), path("${prefix}.susie.*.tsv"), emit: tables
    path "versions.yml"                                       , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def group_arg = groups ? "--groups ${groups}" : ''
    prefix = task.ext.prefix ?: "${meta.id}.chunk" + String.format('%04d', chunk as int)
    """
    finemap.py \\
        --genotypes ${genotypes} \\
        --phenotypes ${phenotypes} \\
        --covariates ${covariates} \\
        ${group_arg} \\
        --fdr-table ${fdr_table} \\
        --chunk ${chunk} ${n_chunks} \\
        --threads ${task.cpus} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(finemap.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.chunk" + String.format('%04d', chunk as int)
    """
    for table in credible_sets cs_summary pip lbf_variable status; do
        printf 'molecular_trait_id\\n' > ${prefix}.susie.\$table.tsv
    done

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
