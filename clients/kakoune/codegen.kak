# codegen-lsp for Kakoune with kakoune-lsp (v17 or newer, which configures servers through the
# buffer option `lsp_servers`).  Source it from your kakrc after kakoune-lsp:
#   source ~/src/codegen-lsp/clients/kakoune/codegen.kak
#
# `lsp_servers` holds every server of the buffer, so list your usual one next to codegen-lsp
# (here pylsp for Python).  Settings under [codegen-lsp.settings.codegen] are optional: left
# out, the server's own TOML files and CODEGEN_LSP_* variables decide.  Never put an API key
# here; name the variable that holds it with apiKeyEnv.

hook -group codegen-lsp global BufSetOption filetype=python %{
    set-option buffer lsp_servers %{
        [pylsp]
        root_globs = ["pyproject.toml", "setup.py", ".git", ".hg"]
        settings_section = "_"
        [pylsp.settings._]

        [codegen-lsp]
        command = "codegen-lsp"
        args = ["serve"]
        root_globs = [".codegen-lsp.toml", "pyproject.toml", ".git", ".hg"]
        settings_section = "codegen"
        [codegen-lsp.settings.codegen]
        # provider = "ollama"
        # model = "qwen2.5-coder:7b"
        # apiKeyEnv = "OPENAI_API_KEY"
        # suggestions while typing, as one completion item (read when the server starts)
        [codegen-lsp.settings.codegen.inline]
        completionFallback = true
    }
}

# Codegen commands in a user mode:  ,g then a key
declare-user-mode codegen
map global user g ': enter-user-mode codegen<ret>' -docstring 'codegen'
map global codegen a ': lsp-code-actions<ret>' -docstring 'Codegen code actions here'
map global codegen x ': lsp-execute-command codegen.cancel "[]"<ret>' -docstring 'cancel every Codegen job'
map global codegen c ': lsp-execute-command codegen.checkProvider "[]"<ret>' -docstring 'check the provider'
