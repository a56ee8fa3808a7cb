"""Providers: one module per wire format, all behind :class:`~codegen_lsp.core.provider.Provider`."""
