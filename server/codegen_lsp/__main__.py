"""``python -m codegen_lsp`` is the ``codegen-lsp`` console script."""

from codegen_lsp.cli import main

raise SystemExit(main())
