"""``python -m codegen_lsp.lsp``: the language server over stdio, without the CLI around it.

Tests start the server this way; ``codegen-lsp serve`` is the user-facing entry point.
"""

import sys

from codegen_lsp.lsp.server import run_server

level = sys.argv[1] if len(sys.argv) > 1 else "info"
raise SystemExit(run_server(tcp=None, log_file=None, log_level=level))
