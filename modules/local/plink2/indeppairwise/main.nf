process PLINK2_INDEPPAIRWISE {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/plink2:2.00a5.10--h4ac6f70_0' :
        'biocontainers/plink2:2.00a5.10--h4ac6f70_0' }"

    input:
    tuple val(meta), path(pgen), path(pvar), path(psam)

    output:
    tuple val(meta), path("${prefix}.prune.in") , emit: prune_in
    tuple val(meta), path("${prefix}.prune.out"), emit: prune_out
    path "versions.yml"                         , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: '--indep-pairwise 200 20 0.2'
    prefix = task.ext.prefix ?: "${meta.id}"
    def mem_mb = task.memory ? task.memory.toMega() : 2000
    """
    # plink2 refuses to estimate LD from fewer than 50 samples; allow it (test data) but say so.
    bad_ld=''
    n_samples=\$(grep -vc '^#' ${psam} || true)
    if [ "\$n_samples" -lt 50 ]; then
        echo "WARNING: LD pruning with only \$n_samples samples (--bad-ld)" >&2
        bad_ld='--bad-ld'
    fi

    plink2 \\
        --threads ${task.cpus} \\
        --memory ${mem_mb} \\
        --pfile ${pgen.baseName} \\
        \$bad_ld \\
        ${args} \\
        --out ${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: \$(plink2 --version 2>&1 | sed 's/^PLINK v//; s/ .*//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.prune.in ${prefix}.prune.out

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: stub
    END_VERSIONS
    """
}
