process CISQTL_FDR {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(tables, stageAs: 'permutation/*'), path(nominal, stageAs: 'nominal/*')
    path groups

    output:
    tuple val(meta), path("${prefix}.cis_qtl.fdr.txt.gz")          , emit: fdr
    tuple val(meta), path("${prefix}.egenes.txt.gz")               , emit: egenes
    tuple val(meta), path("${prefix}.significant_pairs.txt.gz")    , emit: significant_pairs, optional: true
    path "${prefix}.*_mqc.json"                                    , emit: multiqc
    path "versions.yml"                                            , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def group_arg = groups ? "--groups ${groups}" : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    qtl_fdr.py \\
        --permutation ${tables} \\
        --nominal ${nominal} \\
        ${group_arg} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(qtl_fdr.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    printf 'phenotype_id\\tqval\\tpval_nominal_threshold\\n' | gzip -n > ${prefix}.cis_qtl.fdr.txt.gz
    printf 'phenotype_id\\tqval\\tpval_nominal_threshold\\n' | gzip -n > ${prefix}.egenes.txt.gz
    printf 'phenotype_id\\tvariant_id\\tpval_nominal\\tpval_nominal_threshold\\n' | gzip -n > ${prefix}.significant_pairs.txt.gz
    echo '{}' > ${prefix}.summary_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
