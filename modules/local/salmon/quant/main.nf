process SALMON_QUANT {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/salmon:1.10.3--h6dccd9a_2' :
        'biocontainers/salmon:1.10.3--h6dccd9a_2' }"

    input:
    tuple val(meta), path(reads)
    path index

    output:
    tuple val(meta), path("${prefix}", type: 'dir')                      , emit: quant
    tuple val(meta), path("${prefix}/quant.sf")                          , emit: quant_sf
    tuple val(meta), path("${prefix}/lib_format_counts.json")            , emit: lib_format_counts
    tuple val(meta), path("${prefix}/aux_info/meta_info.json")           , emit: meta_info
    path "versions.yml"                                                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // Library type: ext.libtype for every library (MAGE fixed 'IU'), else from the samplesheet's strandedness;
    // 'auto' lets Salmon detect it ('A')
    def strand_codes = [ unstranded: 'U', forward: 'SF', reverse: 'SR' ]
    def libtype = task.ext.libtype ?: (
        meta.strandedness in strand_codes ? (meta.single_end ? '' : 'I') + strand_codes[meta.strandedness] : 'A'
    )
    prefix = task.ext.prefix ?: "${meta.id}"
    def fastqs = reads instanceof List ? reads : [ reads ]
    def input_reads = meta.single_end ? "-r ${fastqs[0]}" : "-1 ${fastqs[0]} -2 ${fastqs[1]}"
    """
    salmon quant \\
        --threads ${task.cpus} \\
        --libType ${libtype} \\
        --index ${index} \\
        ${input_reads} \\
        ${args} \\
        -o ${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        salmon: \$(salmon --version | sed 's/salmon //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/aux_info
    printf 'Name\\tLength\\tEffectiveLength\\tTPM\\tNumReads\\n' > ${prefix}/quant.sf
    echo '{}' > ${prefix}/lib_format_counts.json
    echo '{}' > ${prefix}/aux_info/meta_info.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        salmon: stub
    END_VERSIONS
    """
}
