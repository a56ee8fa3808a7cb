-- :Codegen is defined at startup so it completes and explains itself even before setup();
-- the module itself loads on first use.
if vim.g.loaded_codegen then
  return
end
vim.g.loaded_codegen = true

vim.api.nvim_create_user_command("Codegen", function(opts)
  require("codegen").command(opts)
end, {
  nargs = "*",
  range = true,
  bang = true,
  desc = "codegen-lsp: generate|implement|rewrite|document|tests|explain|fix|actions|cancel|check|trust|status",
  complete = function(arg_lead, cmdline)
    return require("codegen").complete(arg_lead, cmdline)
  end,
})
