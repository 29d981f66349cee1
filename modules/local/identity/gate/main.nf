process IDENTITY_GATE {
    tag "identity gate"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    path samples       // sample table: sample, individual, ...
    path sex_check     // sex_check.tsv, or [] when the sex check was skipped
    path concordance   // genotype_concordance.tsv, or [] when concordance was skipped

    output:
    path "identity_passing.tsv" , emit: passing
    path "identity.status.tsv"  , emit: status
    path "versions.yml"         , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def sex = sex_check ? "--sex-check ${sex_check}" : ''
    def genotypes = concordance ? "--concordance ${concordance}" : ''
    """
    identity_gate.py \\
        --samples ${samples} \\
        ${sex} \\
        ${genotypes} \\
        --out identity_passing.tsv \\
        --status identity.status.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(identity_gate.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    printf 'sample\\tindividual\\tstatus\\tmatched_individual\\n' > identity_passing.tsv
    printf 'sample\\tstep\\tstatus\\treason\\n' > identity.status.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
