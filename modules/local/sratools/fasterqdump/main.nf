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

    # Paired runs give <prefix>_1/_2.fastq (orphans in <prefix>.fastq, dropped); single-end runs one file,
    # kept as <prefix>_1.fastq. The subworkflow sets meta.single_end from the number of files.
    if [ -s ${prefix}_1.fastq ] && [ -s ${prefix}_2.fastq ]; then
        rm -f ${prefix}.fastq
        mates="${prefix}_1.fastq ${prefix}_2.fastq"
    elif [ -s ${prefix}.fastq ] && [ ! -e ${prefix}_2.fastq ]; then
        mv ${prefix}.fastq ${prefix}_1.fastq
        mates="${prefix}_1.fastq"
    elif [ -s ${prefix}_1.fastq ] && [ ! -e ${prefix}_2.fastq ]; then
        mates="${prefix}_1.fastq"
    else
        echo "ERROR: fasterq-dump wrote no reads (or only mate 2) for ${sra}" >&2
        exit 1
    fi
    pigz ${args2} --no-name --processes ${task.cpus} \$mates

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
