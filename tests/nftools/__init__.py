"""Test aids for the Nextflow layer, built on the Apache Groovy 4 parser (Nextflow itself is not needed).

- `checks`: static structure checks of a pipeline tree (syntax, includes, calls, emits, params, withName, modules).
- `render`: render a process's script: or stub: section for one task and run it with bash.
See README.md for what they cover and what they cannot see.
"""
