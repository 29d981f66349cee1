"""MultiQC custom content written by the Python steps (ids start with mage_; assets/multiqc_config.yml orders them)."""
