process REPLICATES_RESOLVE {
    tag "replicates"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    path counts                               // gene_counts.tsv: genes x libraries
    path tpm                                  // gene_tpm.tsv
    path lengths                              // gene_lengths.tsv
    path read_pairs, stageAs: 'read_pairs/*'  // <library>.fastq_check.json (read_pairs), all libraries
    path passing                              // identity_passing.tsv from IDENTITY_GATE
    path samples                              // sample table: sample, individual, ...

    output:
    path "gene_counts.focal.tsv"     , emit: focal_counts
    path "gene_tpm.focal.tsv"        , emit: focal_tpm
    path "gene_lengths.focal.tsv"    , emit: focal_lengths
    path "gene_counts.collapsed.tsv" , emit: collapsed_counts
    path "focal_libraries.tsv"       , emit: focal_libraries
    path "replicates.status.tsv"     , emit: status
    path "versions.yml"              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    resolve_replicates.py \\
        --counts ${counts} \\
        --tpm ${tpm} \\
        --lengths ${lengths} \\
        --read-pairs ${read_pairs} \\
        --passing ${passing} \\
        --samples ${samples} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(resolve_replicates.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    for name in gene_counts.focal gene_tpm.focal gene_lengths.focal gene_counts.collapsed; do
        printf 'gene_id\\n' > \${name}.tsv
    done
    printf 'individual\\tlibrary\\tread_pairs\\tn_libraries\\treason\\n' > focal_libraries.tsv
    printf 'sample\\tstep\\tstatus\\treason\\n' > replicates.status.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
