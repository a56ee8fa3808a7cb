-- Drives headless Neovim through one scenario with the codegen plugin, as a user would:
--   nvim --headless --clean -l driver.lua SCENARIO FILE RESULT_JSON
-- Environment: CODEGEN_PLUGIN_DIR (clients/nvim), CODEGEN_SERVER_CMD (JSON list),
-- CODEGEN_INSTRUCTION (what the "user" types into the rewrite prompt).
-- Writes {ok, error, lines, notifications, prompts, log} to RESULT_JSON; the pytest side asserts.
local scenario, file, result_path = arg[1], arg[2], arg[3]
local TIMEOUT = 20000

local result = { ok = false, notifications = {}, prompts = {}, scenario = scenario }

vim.notify = function(msg, level)
  table.insert(result.notifications, { message = tostring(msg), level = level })
end

-- The server's showMessage goes to nvim_echo, not vim.notify: record it with vim.log.levels.
local LEVEL_OF_MESSAGE_TYPE = { [1] = vim.log.levels.ERROR, [2] = vim.log.levels.WARN, [3] = vim.log.levels.INFO }
vim.lsp.handlers["window/showMessage"] = function(_, params)
  table.insert(result.notifications, {
    message = "server: " .. tostring(params.message),
    level = LEVEL_OF_MESSAGE_TYPE[params.type] or vim.log.levels.DEBUG,
  })
  return vim.NIL
end

-- The "user" answers the rewrite prompt.
vim.ui.input = function(opts, on_confirm)
  table.insert(result.prompts, opts.prompt or "")
  on_confirm(os.getenv("CODEGEN_INSTRUCTION"))
end

local function wait_for(what, predicate, timeout)
  if not vim.wait(timeout or TIMEOUT, predicate, 20) then
    error("timed out waiting for " .. what)
  end
end

local function buffer_lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local function run()
  vim.opt.runtimepath:prepend(os.getenv("CODEGEN_PLUGIN_DIR"))
  vim.cmd.runtime("plugin/codegen.lua")
  local codegen = require("codegen")
  codegen.setup({ cmd = vim.json.decode(os.getenv("CODEGEN_SERVER_CMD")) })

  vim.cmd.edit(vim.fn.fnameescape(file))
  -- --clean does no filetype detection; setting it fires FileType, which starts the server.
  vim.bo.filetype = "python"
  wait_for("the codegen client to initialize", function()
    local client = codegen.client()
    return client ~= nil and client.initialized == true
  end)

  local tick = vim.api.nvim_buf_get_changedtick(0)
  local function edited()
    return vim.api.nvim_buf_get_changedtick(0) ~= tick
  end
  local saw_job = false
  vim.api.nvim_create_autocmd("LspProgress", {
    callback = function()
      if codegen.running() > 0 then
        saw_job = true
      end
    end,
  })

  if scenario == "generate" then
    -- cursor on the comment, then the command a user types
    vim.api.nvim_win_set_cursor(0, { 1, 4 })
    vim.cmd("Codegen generate")
    wait_for("the generated code", edited)
    wait_for("the job to end", function()
      return codegen.running() == 0
    end)
  elseif scenario == "rewrite" then
    -- select the function body linewise in visual mode, leave it, then :'<,'>Codegen rewrite
    vim.cmd("normal! ggVj\27")
    vim.cmd("'<,'>Codegen rewrite")
    wait_for("the rewritten code", edited)
    wait_for("the job to end", function()
      return codegen.running() == 0
    end)
  elseif scenario == "fix" then
    -- another tool's diagnostic on line 3 (as a linter would publish it), then :Codegen fix there
    local ns = vim.api.nvim_create_namespace("some-linter")
    vim.diagnostic.set(ns, 0, {
      { lnum = 2, col = 6, end_lnum = 2, end_col = 9, severity = vim.diagnostic.severity.ERROR,
        message = "Name \"are\" is not defined", source = "some-linter" },
    })
    vim.api.nvim_win_set_cursor(0, { 3, 7 })
    vim.cmd("Codegen fix")
    wait_for("the fix", edited)
    wait_for("the job to end", function()
      return codegen.running() == 0
    end)
  elseif scenario == "cancel" then
    vim.api.nvim_win_set_cursor(0, { 1, 0 })
    vim.cmd("Codegen generate")
    wait_for("the job to start", function()
      return codegen.running() > 0
    end)
    -- let the first tokens arrive so the cancel lands mid-generation
    vim.wait(600)
    vim.cmd("Codegen cancel")
    wait_for("the job to end after cancel", function()
      return codegen.running() == 0
    end)
    -- an edit arriving late would show up here
    vim.wait(1000)
    result.edited = edited()
  else
    error("unknown scenario " .. tostring(scenario))
  end
  result.saw_job = saw_job
  result.lines = buffer_lines()
  result.ok = true
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  result.error = tostring(err)
  result.lines = buffer_lines()
end

for _, client in ipairs(vim.lsp.get_clients()) do
  client:stop()
end
vim.wait(3000, function()
  return #vim.lsp.get_clients() == 0
end, 20)

local fd = assert(io.open(result_path, "w"))
fd:write(vim.json.encode(result))
fd:close()
