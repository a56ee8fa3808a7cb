"""The LSP glue: the only package that imports pygls and lsprotocol (see ARCHITECTURE.md)."""
