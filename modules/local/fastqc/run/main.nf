process FASTQC_RUN {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/fastqc:0.12.1--hdfd78af_0' :
        'biocontainers/fastqc:0.12.1--hdfd78af_0' }"

    input:
    tuple val(meta), path(reads)

    output:
    tuple val(meta), path("*_fastqc.html"), emit: html
    tuple val(meta), path("*_fastqc.zip") , emit: zip
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // Links named after the library so that reports (and MultiQC rows) carry the library ID, not the file name
    def fastqs = reads instanceof List ? reads : [reads]
    def renamed = fastqs.size() == 1 ? ["${prefix}.fastq.gz"] : fastqs.withIndex().collect { _fq, i -> "${prefix}_${i + 1}.fastq.gz" }
    def links = [fastqs, renamed].transpose().collect { fq, name -> "[ -e ${name} ] || ln -s ${fq} ${name}" }.join('\n    ')
    // FastQC takes memory per thread in MB (100-10000); give each thread an equal share of the task's memory
    def memory_mb = task.memory ? Math.max(100, Math.min(10000, (task.memory.toMega() / task.cpus) as int)) : 512
    """
    ${links}

    fastqc \\
        ${args} \\
        --threads ${task.cpus} \\
        --memory ${memory_mb} \\
        ${renamed.join(' ')}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        fastqc: \$(fastqc --version | sed 's/FastQC v//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}_1_fastqc.html ${prefix}_1_fastqc.zip ${prefix}_2_fastqc.html ${prefix}_2_fastqc.zip

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        fastqc: stub
    END_VERSIONS
    """
}
