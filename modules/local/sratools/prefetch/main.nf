process SRATOOLS_PREFETCH {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/mulled-v2-5f89fe0cd045cb1d615630b9261a1d17943a9b6a:2f4a4c900edd6801ff0068c2b3048b4459d119eb-0' :
        'biocontainers/mulled-v2-5f89fe0cd045cb1d615630b9261a1d17943a9b6a:2f4a4c900edd6801ff0068c2b3048b4459d119eb-0' }"

    input:
    tuple val(meta), val(accession)

    output:
    tuple val(meta), path("${accession}", type: 'dir'), emit: sra
    path "versions.yml"                                , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def attempts = task.ext.attempts ?: 5
    """
    # sra-tools needs a user configuration; a fresh one per task (no home directory in containers)
    export NCBI_SETTINGS="\$PWD/user-settings.mkfg"
    printf '/LIBS/GUID = "%s"\\n/libs/cloud/report_instance_identity = "true"\\n' "\$(cat /proc/sys/kernel/random/uuid)" > user-settings.mkfg

    # Network downloads fail transiently: retry with a growing pause, then fail the task with prefetch's message.
    for attempt in \$(seq 1 ${attempts}); do
        if prefetch ${args} --output-directory . ${accession}; then
            break
        elif [ "\$attempt" -eq ${attempts} ]; then
            echo "ERROR: prefetch ${accession} failed ${attempts} times" >&2
            exit 1
        fi
        sleep \$(( attempt * 30 ))
    done

    vdb-validate ${accession}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        sratools: \$(prefetch --version 2>&1 | grep -Eo '[0-9.]+' | head -n 1)
    END_VERSIONS
    """

    stub:
    """
    mkdir ${accession}
    touch ${accession}/${accession}.sra

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        sratools: stub
    END_VERSIONS
    """
}
