"""Benchmarks for codegen-lsp: what the server adds on top of the model, startup, memory and scale.

Run ``python -m bench`` (``--help`` for options). Everything is measured against a scripted
OpenAI-compatible provider on loopback (:mod:`bench.refprovider`) whose time to first token and
tokens/s are controlled, so the numbers are the server's own cost, not a model's. A bare pygls
server (:mod:`bench.baseline_server`) runs in the same session as the floor for any Python
language server, and, when ``python -m bench setup`` installed them, two AI language servers from
npm are started for their startup time and idle memory only.
"""
