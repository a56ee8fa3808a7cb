//! Zed extension for codegen-lsp: Zed can only start a language server that an extension
//! declares, so this one finds `codegen-lsp` on the worktree's PATH (or takes
//! `lsp.codegen-lsp.binary` from settings) and passes `lsp.codegen-lsp.settings` on as the
//! server's `codegen` configuration.  It downloads nothing.
use zed_extension_api::{self as zed, serde_json, settings::LspSettings, LanguageServerId, Result};

struct CodegenExtension;

impl zed::Extension for CodegenExtension {
    fn new() -> Self {
        CodegenExtension
    }

    fn language_server_command(
        &mut self,
        language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let binary = LspSettings::for_worktree(language_server_id.as_ref(), worktree)
            .ok()
            .and_then(|settings| settings.binary);
        let configured_path = binary.as_ref().and_then(|b| b.path.clone());
        let command = configured_path
            .or_else(|| worktree.which("codegen-lsp"))
            .ok_or_else(|| {
                "codegen-lsp was not found on PATH: install it (pipx install codegen-lsp) \
                 or set lsp.codegen-lsp.binary.path in your settings"
                    .to_string()
            })?;
        let args = binary
            .and_then(|b| b.arguments)
            .unwrap_or_else(|| vec!["serve".to_string()]);
        Ok(zed::Command {
            command,
            args,
            env: worktree.shell_env(),
        })
    }

    fn language_server_initialization_options(
        &mut self,
        language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        Ok(Some(user_settings(language_server_id, worktree)))
    }

    fn language_server_workspace_configuration(
        &mut self,
        language_server_id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<Option<serde_json::Value>> {
        // The server asks for the `codegen` section.
        Ok(Some(serde_json::json!({ "codegen": user_settings(language_server_id, worktree) })))
    }
}

fn user_settings(language_server_id: &LanguageServerId, worktree: &zed::Worktree) -> serde_json::Value {
    LspSettings::for_worktree(language_server_id.as_ref(), worktree)
        .ok()
        .and_then(|settings| settings.settings)
        .unwrap_or_else(|| serde_json::json!({}))
}

zed::register_extension!(CodegenExtension);
