process EXPRESSION_NORMALIZE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(counts), path(tpm), path(lengths)
    path gtf

    output:
    tuple val(meta), path("${prefix}.inverse_normal_tmm.bed.gz"), path("${prefix}.inverse_normal_tmm.bed.gz.tbi"), emit: phenotype_bed
    tuple val(meta), path("${prefix}.*.bed.gz")                 , path("${prefix}.*.bed.gz.tbi")                 , emit: beds
    tuple val(meta), path("${prefix}.gene_filter.tsv")                                                           , emit: gene_filter
    tuple val(meta), path("${prefix}.tmm_factors.tsv")                                                           , emit: tmm_factors
    path "${prefix}.gene_filter_mqc.json"                                                                         , emit: multiqc
    path "versions.yml"                                                                                           , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def lengths_arg = lengths ? "--lengths ${lengths}" : ''
    """
    normalize_expression.py \\
        --counts ${counts} \\
        --tpm ${tpm} \\
        ${lengths_arg} \\
        --gtf ${gtf} \\
        --prefix ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(normalize_expression.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    for name in inverse_normal_tmm tmm counts deseq2_log2; do
        echo "" | gzip > ${prefix}.\${name}.bed.gz
        touch ${prefix}.\${name}.bed.gz.tbi
    done
    touch ${prefix}.gene_filter.tsv ${prefix}.tmm_factors.tsv ${prefix}.gene_filter_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
