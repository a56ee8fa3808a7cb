"""The protocol-free core: context → messages → cleanup → edit.

Nothing in this package imports pygls, lsprotocol or httpx (ruff's banned-api rule enforces it),
so the CLI, the language server, the tests and the benchmarks all drive the same code.
"""
