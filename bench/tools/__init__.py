"""Diagnostic tools that find where the benchmark's time goes (``python -m bench.tools.<name>``).

Not part of ``python -m bench``: ``breakdown`` (item 4 stage by stage, memory growth, against
``instrumented_server``), ``profile_server`` (a pyinstrument report per scenario) and
``startup_imports`` (the imports we pay before ``initialize``).
"""
