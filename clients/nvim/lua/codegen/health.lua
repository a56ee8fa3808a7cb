--- :checkhealth codegen: Neovim version, the server command, the attached client, ghost text and
--- the provider.
local M = {}

function M.check()
  local health = vim.health
  local codegen = require("codegen")

  health.start("codegen: Neovim")
  if vim.fn.has("nvim-0.11") == 1 then
    health.ok("Neovim " .. tostring(vim.version()) .. " (vim.lsp.config / vim.lsp.enable)")
  elseif vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()) .. " (vim.lsp.start per buffer)")
  else
    health.error("Neovim 0.10 or newer is required", { "Upgrade Neovim" })
  end

  health.start("codegen: server")
  if not codegen.did_setup then
    health.warn("setup() has not been called", { "Add require('codegen').setup({}) to your config" })
  end
  local cmd = codegen.options.cmd
  local exe = vim.fn.exepath(cmd[1])
  if exe == "" then
    health.error("server command '" .. cmd[1] .. "' not found on PATH", {
      "pipx install codegen-lsp   (or pip install codegen-lsp into a virtualenv)",
      "or point setup({ cmd = { '/path/to/codegen-lsp', 'serve' } }) at it",
    })
  else
    health.ok("server command: " .. table.concat(cmd, " ") .. "  (" .. exe .. ")")
    local result = vim.system({ exe, "--version" }, { text = true }):wait(10000)
    if result.code == 0 then
      health.info("version: " .. vim.trim(result.stdout or ""))
    end
  end

  local settings = codegen.options.settings or {}
  local shown = {}
  for _, key in ipairs({ "provider", "baseUrl", "model", "apiKeyEnv" }) do
    if settings[key] then
      table.insert(shown, key .. "=" .. tostring(settings[key]))
    end
  end
  if settings.apiKey then
    health.warn("settings.apiKey is set in your config", { "Prefer api_key_cmd or apiKeyEnv: keys do not belong in dotfiles" })
  end
  health.info("settings: " .. (#shown > 0 and table.concat(shown, ", ") or "(server defaults)"))

  -- :checkhealth runs in a buffer of its own, so look at every buffer, not the current one.
  health.start("codegen: running server")
  local client = vim.lsp.get_clients({ name = codegen.name })[1]
  if not client then
    health.warn("no codegen client is running", {
      "Open a file buffer (buftype '') with a filetype the config accepts",
      "See :checkhealth vim.lsp and :LspLog",
    })
    return
  end
  local buffers = vim.tbl_map(function(bufnr)
    return vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":~:.")
  end, vim.tbl_keys(client.attached_buffers))
  health.ok(
    string.format(
      "client %d (position encoding %s) attached to: %s",
      client.id,
      client.offset_encoding,
      table.concat(buffers, ", ")
    )
  )
  local inline = require("codegen.inline")
  if codegen.options.inline == false then
    health.info("ghost text: off (setup({ inline = false }))")
  elseif not (client.server_capabilities or {}).inlineCompletionProvider then
    health.warn("ghost text: the server does not offer inline completion", { "Update codegen-lsp" })
  else
    health.ok(
      string.format(
        "ghost text: %s, drawn by %s",
        inline.options.enabled and "on" or "off (:Codegen inline on)",
        inline.native_available() and inline.options.native ~= false and "vim.lsp.inline_completion (Neovim 0.12+)"
          or "this plugin's extmarks"
      )
    )
  end
  local ok, message = codegen.check_sync(client, 15000)
  if ok then
    health.ok("provider: " .. message)
  else
    health.error("provider: " .. message, { "Check provider, baseUrl, model and the API key variable" })
  end
end

return M
