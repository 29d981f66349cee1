process FASTP_TRIM {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/88/889a182b8066804f4799f3808a5813ad601381a8a0e3baa4ab8d73e739b97001/data' :
        'community.wave.seqera.io/library/fastp:0.24.0--62c97b06e8447690' }"

    input:
    tuple val(meta), path(reads)

    output:
    tuple val(meta), path("${prefix}_{1,2}.fastp.fastq.gz"), emit: reads
    tuple val(meta), path("${prefix}.fastp.json")           , emit: json
    tuple val(meta), path("${prefix}.fastp.html")           , emit: html
    tuple val(meta), path("${prefix}.fastp.log")            , emit: log
    path "versions.yml"                                     , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def fastqs = reads instanceof List ? reads : [ reads ]
    def mates = meta.single_end
        ? "--in1 ${fastqs[0]} --out1 ${prefix}_1.fastp.fastq.gz"
        : "--in1 ${fastqs[0]} --in2 ${fastqs[1]} --out1 ${prefix}_1.fastp.fastq.gz --out2 ${prefix}_2.fastp.fastq.gz"
    """
    fastp \\
        ${mates} \\
        --json ${prefix}.fastp.json \\
        --html ${prefix}.fastp.html \\
        --report_title '${meta.id}' \\
        --thread ${task.cpus} \\
        ${args} \\
        2> ${prefix}.fastp.log \\
        || { cat ${prefix}.fastp.log >&2; exit 1; }

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        fastp: \$(fastp --version 2>&1 | sed 's/fastp //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo "" | gzip > ${prefix}_1.fastp.fastq.gz
    ${meta.single_end ? '' : "echo '' | gzip > ${prefix}_2.fastp.fastq.gz"}
    touch ${prefix}.fastp.json ${prefix}.fastp.html ${prefix}.fastp.log

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        fastp: stub
    END_VERSIONS
    """
}
