process SRATOOLS_FASTERQDUMP {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/mulled-v2-5f89fe0cd045cb1d615630b9261a1d17943a9b6a:2f4a4c900edd6801ff0068c2b3048b4459d119eb-0' :
        'biocontainers/mulled-v2-5f89fe0cd045cb1d615630b9261a1d17943a9b6a:2f4a4c900edd6801ff0068c2b3048b4459d119eb-0' }"

    input:
    tuple val(meta), path(sra)

    output:
    tuple val(meta), path("${prefix}_{1,2}.fastq.gz"), emit: reads
    path "versions.yml"                             , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def args2 = task.ext.args2 ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    export NCBI_SETTINGS="\$PWD/user-settings.mkfg"
    printf '/LIBS/GUID = "%s"\\n/libs/cloud/report_instance_identity = "true"\\n' "\$(cat /proc/sys/kernel/random/uuid)" > user-settings.mkfg

    # --split-files: mate 1 and mate 2 of every spot go to <prefix>_1.fastq and <prefix>_2.fastq
    fasterq-dump \\
        ${args} \\
        --split-files \\
        --threads ${task.cpus} \\
        --temp . \\
        --outfile ${prefix}.fastq \\
        ${sra}

    for mate in 1 2; do
        if [ ! -s ${prefix}_\${mate}.fastq ]; then
            echo "ERROR: fasterq-dump wrote no ${prefix}_\${mate}.fastq for ${sra}: is this run paired-end?" >&2
            exit 1
        fi
    done
    pigz ${args2} --no-name --processes ${task.cpus} ${prefix}_1.fastq ${prefix}_2.fastq
    rm -f ${prefix}.fastq

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        sratools: \$(fasterq-dump --version 2>&1 | grep -Eo '[0-9.]+' | head -n 1)
        pigz: \$(pigz --version 2>&1 | sed 's/pigz //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo "" | gzip > ${prefix}_1.fastq.gz
    echo "" | gzip > ${prefix}_2.fastq.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        sratools: stub
        pigz: stub
    END_VERSIONS
    """
}
