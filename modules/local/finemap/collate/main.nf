process FINEMAP_COLLATE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(tables, stageAs: 'chunks/*')

    output:
    tuple val(meta), path("${prefix}.susie.credible_sets.tsv.gz"), emit: credible_sets
    tuple val(meta), path("${prefix}.susie.cs_summary.tsv.gz")   , emit: cs_summary
    tuple val(meta), path("${prefix}.susie.pip.tsv.gz")          , emit: pip
    tuple val(meta), path("${prefix}.susie.lbf_variable.tsv.gz") , emit: lbf_variable
    tuple val(meta), path("${prefix}.susie.status.tsv.gz")       , emit: status
    tuple val(meta), path("${prefix}.susie.lead_variants.tsv")   , emit: lead_variants
    path "${prefix}.finemap_*_mqc.*"                             , emit: multiqc
    path "versions.yml"                                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    finemap_collate.py \\
        --inputs chunks/* \\
        --label ${meta.id} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(finemap_collate.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    for table in credible_sets cs_summary pip lbf_variable status; do
        echo | gzip -n > ${prefix}.susie.\$table.tsv.gz
    done
    printf 'gene_id\\tvariant_id\\tcs_id\\tlead_pip\\n' > ${prefix}.susie.lead_variants.tsv
    echo '{}' > ${prefix}.finemap_summary_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
