process IDENTITY_SEXCHECK {
    tag "sex check"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    path tpm       // gene_tpm.tsv: genes x libraries
    path gtf
    path samples   // sample table: sample, individual, sex, ...

    output:
    path "sex_check.tsv"        , emit: results
    path "sexcheck.status.tsv"  , emit: status
    path "sex_check_mqc.json"   , emit: multiqc
    path "versions.yml"         , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    sex_check.py \\
        --tpm ${tpm} \\
        --gtf ${gtf} \\
        --samples ${samples} \\
        --out sex_check.tsv \\
        --status sexcheck.status.tsv \\
        --mqc sex_check_mqc.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(sex_check.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    printf 'sample\\tindividual\\treported_sex\\txist_tpm\\tchry_tpm\\txist_log2tpm\\tchry_log2tpm\\tinferred_sex\\tverdict\\treason\\n' > sex_check.tsv
    printf 'sample\\tstep\\tstatus\\treason\\n' > sexcheck.status.tsv
    echo '{}' > sex_check_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
