--- codegen.nvim: Neovim client for codegen-lsp.
---
--- The server does the work (code actions, streaming, edits, suggestions); this module registers
--- it with Neovim's LSP client and adds what plain LSP cannot: `:Codegen` with an instruction
--- prompt, visual-mode ranges, cancel, a statusline item, `:checkhealth codegen`, and ghost text
--- (codegen.inline).
local M = {}

M.name = "codegen"

---@class codegen.Options
---@field cmd? string[] server command (default: { "codegen-lsp", "serve" })
---@field filetypes? string[] attach only to these filetypes (default: every file buffer)
---@field root_markers? string[] files that mark a project root
---@field settings? table the server's "codegen" configuration (provider, baseUrl, model, apiKeyEnv, ...)
---@field api_key? string|fun():string|nil a key handed to the server at start (never written anywhere)
---@field api_key_cmd? string[] a command whose first output line is the key (e.g. { "pass", "show", "openai" })
---@field cmd_env? table<string,string> extra environment for the server process
---@field on_attach? fun(client: vim.lsp.Client, bufnr: integer)
---@field autostart? boolean start with matching buffers (default true)
---@field inline? codegen.InlineOptions|false ghost text (see codegen.inline); false: none

---@type codegen.Options
local defaults = {
  cmd = { "codegen-lsp", "serve" },
  filetypes = nil,
  root_markers = { ".codegen-lsp.toml", "pyproject.toml", ".git" },
  settings = {},
  api_key = nil,
  api_key_cmd = nil,
  cmd_env = nil,
  on_attach = nil,
  autostart = true,
  inline = {},
}

---@type codegen.Options
M.options = vim.deepcopy(defaults)
M.did_setup = false

local ACTIONS = {
  generate = "generate_from_comment",
  implement = "implement",
  rewrite = "rewrite",
  document = "document",
  tests = "tests",
  explain = "explain",
  fix = "fix",
}

M.subcommands = {
  "generate",
  "implement",
  "rewrite",
  "document",
  "tests",
  "explain",
  "fix",
  "actions",
  "cancel",
  "check",
  "trust",
  "status",
  "suggest",
  "inline",
}

local has_011 = vim.fn.has("nvim-0.11") == 1

local function notify(msg, level)
  vim.notify("codegen: " .. msg, level or vim.log.levels.INFO)
end

--- Call a client method in the 0.11 style (`client:request`) or the 0.10 one (`client.request`).
local function request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function request_sync(client, method, params, timeout_ms, bufnr)
  if has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

local function resolve_api_key(opts)
  local key = opts.api_key
  if type(key) == "function" then
    key = key()
  end
  if (key == nil or key == "") and opts.api_key_cmd then
    local result = vim.system(opts.api_key_cmd, { text = true }):wait(10000)
    if result.code == 0 and result.stdout then
      key = vim.split(result.stdout, "\n", { plain = true })[1]
    else
      notify("api_key_cmd failed: " .. vim.trim(result.stderr or ""), vim.log.levels.WARN)
    end
  end
  if key == "" then
    return nil
  end
  return key
end

-- ---------------------------------------------------------------------------------------------
-- Jobs and progress: the server reports one work-done progress per job.

---@type table<string, {title: string, message?: string, percentage?: integer}>
M.jobs = {}

local function on_progress(client_id, params)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or client.name ~= M.name or type(params) ~= "table" or params.token == nil then
    return
  end
  local token = tostring(params.token)
  local value = params.value or {}
  if value.kind == "begin" then
    M.jobs[token] = { title = value.title or "Codegen", message = value.message, percentage = value.percentage }
  elseif value.kind == "report" and M.jobs[token] then
    M.jobs[token].message = value.message or M.jobs[token].message
    M.jobs[token].percentage = value.percentage or M.jobs[token].percentage
  elseif value.kind == "end" then
    M.jobs[token] = nil
    if value.message and value.message ~= "" then
      vim.api.nvim_exec_autocmds("User", { pattern = "CodegenJobEnd", data = { message = value.message } })
    end
  end
  vim.cmd.redrawstatus({ bang = true, mods = { emsg_silent = true } })
end

--- A short text for the statusline while jobs run, else "".
function M.status()
  local count, text = 0, ""
  for _, job in pairs(M.jobs) do
    count = count + 1
    text = job.title .. (job.message and (": " .. job.message) or "")
  end
  if count == 0 then
    return ""
  elseif count == 1 then
    return text
  end
  return string.format("Codegen: %d jobs", count)
end

--- Number of jobs running now.
function M.running()
  return vim.tbl_count(M.jobs)
end

-- ---------------------------------------------------------------------------------------------
-- Setup

local function server_config(opts)
  local settings = vim.deepcopy(opts.settings or {})
  if next(settings) == nil then
    -- an empty Lua table would go out as a JSON array
    settings = vim.empty_dict()
  end
  local config = {
    name = M.name,
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = opts.filetypes,
    root_markers = opts.root_markers,
    init_options = settings,
    settings = { codegen = settings },
    before_init = function(params, config)
      -- Read the key at start, not at setup: a password manager prompt then happens only when
      -- the server really starts, and the key lives only in memory.
      local key = resolve_api_key(opts)
      if key then
        params.initializationOptions = vim.tbl_extend("force", params.initializationOptions or {}, { apiKey = key })
        config.settings = config.settings or {}
        config.settings.codegen = vim.tbl_extend("force", config.settings.codegen or {}, { apiKey = key })
      end
    end,
    on_attach = opts.on_attach,
    -- declaring inline completion tells the server this editor shows ghost text
    capabilities = opts.inline ~= false and require("codegen.inline").capabilities() or nil,
    handlers = {
      ["$/progress"] = function(err, result, ctx, config)
        on_progress(ctx.client_id, result)
        return vim.lsp.handlers["$/progress"](err, result, ctx, config)
      end,
    },
  }
  return config
end

local function root_dir_for(bufnr, markers)
  local path = vim.api.nvim_buf_get_name(bufnr)
  local found = vim.fs.find(markers, { upward = true, path = vim.fs.dirname(path) })[1]
  if found then
    return vim.fs.dirname(found)
  end
  return vim.fn.getcwd()
end

--- Configure and enable the server.  Safe to call again with new options.
---@param opts? codegen.Options
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  -- a list must replace the default, not merge into it index by index
  if opts and opts.cmd then
    M.options.cmd = opts.cmd
  end
  M.did_setup = true

  if vim.fn.executable(M.options.cmd[1]) == 0 then
    notify(
      string.format(
        "server command '%s' not found: install it (pipx install codegen-lsp) or set `cmd` in setup()",
        M.options.cmd[1]
      ),
      vim.log.levels.WARN
    )
  end

  if M.options.inline ~= false then
    require("codegen.inline").setup(M.options.inline, M.name)
  end

  local config = server_config(M.options)
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(M.name, config)
    if M.options.autostart then
      vim.lsp.enable(M.name)
    end
  else
    -- Neovim 0.10: no vim.lsp.config; start per buffer ourselves.
    local group = vim.api.nvim_create_augroup("codegen.lsp", { clear = true })
    if M.options.autostart then
      vim.api.nvim_create_autocmd("FileType", {
        group = group,
        pattern = M.options.filetypes or "*",
        callback = function(args)
          M.start(args.buf)
        end,
      })
    end
  end
end

--- Start (or reuse) the server for a buffer by hand, e.g. with `autostart = false`.
---@param bufnr? integer
---@return integer? client_id
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local config = server_config(M.options)
  config.root_dir = root_dir_for(bufnr, M.options.root_markers)
  config.root_markers = nil
  config.filetypes = nil
  return vim.lsp.start(config, { bufnr = bufnr })
end

---@return vim.lsp.Client?
function M.client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

-- ---------------------------------------------------------------------------------------------
-- Ranges: byte columns in Neovim, the negotiated position encoding on the wire.

local function position(bufnr, row, byte_col, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  byte_col = math.min(byte_col, #line)
  local character = byte_col
  if byte_col > 0 then
    character = vim.lsp.util.character_offset(bufnr, row, byte_col, encoding)
  end
  return { line = row, character = character }
end

local function line_end(bufnr, row, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  return position(bufnr, row, #line, encoding)
end

--- The LSP range for a command: the cursor (no range), whole lines (`:N,M`), or the exact
--- characters of a charwise visual selection that spans those lines.
---@param cmd_opts {range: integer, line1: integer, line2: integer}
local function command_range(bufnr, cmd_opts, encoding)
  if cmd_opts.range == 0 then
    local cursor = vim.api.nvim_win_get_cursor(0)
    local pos = position(bufnr, cursor[1] - 1, cursor[2], encoding)
    return { start = pos, ["end"] = pos }
  end
  local first, last = cmd_opts.line1 - 1, cmd_opts.line2 - 1
  local vstart = vim.api.nvim_buf_get_mark(bufnr, "<")
  local vend = vim.api.nvim_buf_get_mark(bufnr, ">")
  if vim.fn.visualmode() == "v" and vstart[1] - 1 == first and vend[1] - 1 == last then
    local last_line = vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ""
    local end_byte = #last_line
    if vend[2] < #last_line then
      -- the mark sits on the first byte of the last selected character: include all of it
      local char_len = #vim.fn.strcharpart(last_line:sub(vend[2] + 1), 0, 1)
      end_byte = vend[2] + math.max(char_len, 1)
    end
    return { start = position(bufnr, first, vstart[2], encoding), ["end"] = position(bufnr, last, end_byte, encoding) }
  end
  local line_count = vim.api.nvim_buf_line_count(bufnr)
  local stop
  if last + 1 < line_count then
    stop = { line = last + 1, character = 0 }
  else
    stop = line_end(bufnr, last, encoding)
  end
  return { start = { line = first, character = 0 }, ["end"] = stop }
end

-- ---------------------------------------------------------------------------------------------
-- Commands

local function require_client(bufnr)
  local client = M.client(bufnr)
  if client then
    return client
  end
  if not M.did_setup then
    notify("call require('codegen').setup() first", vim.log.levels.ERROR)
  elseif vim.fn.executable(M.options.cmd[1]) == 0 then
    notify(string.format("server command '%s' not found (see :checkhealth codegen)", M.options.cmd[1]), vim.log.levels.ERROR)
  else
    notify("the server is not attached to this buffer (see :checkhealth codegen)", vim.log.levels.ERROR)
  end
  return nil
end

local function report_error(err)
  -- -32800: the request was cancelled (by us or the user); nothing to say.
  if err and err.code ~= -32800 then
    notify(err.message or vim.inspect(err), vim.log.levels.ERROR)
  end
end

--- Run one action through `codegen.generate`.
---@param action string server action name (generate_from_comment, rewrite, ...)
---@param cmd_opts? {range: integer, line1: integer, line2: integer}
---@param instruction? string
function M.run(action, cmd_opts, instruction)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = require_client(bufnr)
  if not client then
    return
  end
  cmd_opts = cmd_opts or { range = 0, line1 = 0, line2 = 0 }
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    version = vim.lsp.util.buf_versions[bufnr] or 0,
    range = command_range(bufnr, cmd_opts, client.offset_encoding),
    action = action,
    instruction = instruction,
  }
  request(client, "workspace/executeCommand", {
    command = "codegen.generate",
    arguments = { argument },
  }, function(err)
    report_error(err)
  end, bufnr)
end

--- Ask for an instruction, then rewrite the range with it.
function M.rewrite(cmd_opts, instruction)
  if instruction and instruction ~= "" then
    return M.run("rewrite", cmd_opts, instruction)
  end
  vim.ui.input({ prompt = "Rewrite instruction: " }, function(input)
    if input and vim.trim(input) ~= "" then
      M.run("rewrite", cmd_opts, input)
    end
  end)
end

local function codegen_action_filter(prefix)
  return function(action)
    return type(action.title) == "string" and vim.startswith(action.title, prefix)
  end
end

--- Every diagnostic on lines [first, last] (0-based), whichever source published it, as LSP
--- diagnostics in `encoding`.  Neovim's own code_action sends each server only the diagnostics
--- that server published, and codegen-lsp publishes none: its Fix actions need the others'.
local function line_diagnostics(bufnr, first, last, encoding)
  local found = {}
  for lnum = first, last do
    for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
      local end_lnum = d.end_lnum or d.lnum
      table.insert(found, {
        range = {
          start = position(bufnr, d.lnum, d.col or 0, encoding),
          ["end"] = position(bufnr, end_lnum, d.end_col or d.col or 0, encoding),
        },
        severity = d.severity,
        message = d.message,
        source = d.source,
        code = d.code,
      })
    end
  end
  return found
end

--- Pick among the server's "Codegen: ..." code actions at the cursor or range; with a `prefix`
--- other than "Codegen:", apply the only match at once.
function M.actions(cmd_opts, prefix)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = require_client(bufnr)
  if not client then
    return
  end
  local first, last
  if cmd_opts and cmd_opts.range > 0 then
    first, last = cmd_opts.line1 - 1, cmd_opts.line2 - 1
  else
    first = vim.api.nvim_win_get_cursor(0)[1] - 1
    last = first
  end
  local params = {
    filter = codegen_action_filter(prefix or "Codegen:"),
    context = { diagnostics = line_diagnostics(bufnr, first, last, client.offset_encoding) },
  }
  if cmd_opts and cmd_opts.range > 0 then
    local last_line = vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or ""
    params.range = { start = { first + 1, 0 }, ["end"] = { last + 1, math.max(#last_line - 1, 0) } }
  end
  if prefix and prefix ~= "Codegen:" then
    params.apply = true
  end
  vim.lsp.buf.code_action(params)
end

--- Cancel this buffer's jobs (`all` = every job of the server).
function M.cancel(all)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = require_client(bufnr)
  if not client then
    return
  end
  local argument = all and { all = true } or { uri = vim.uri_from_bufnr(bufnr) }
  request(client, "workspace/executeCommand", {
    command = "codegen.cancel",
    arguments = { argument },
  }, function(err)
    report_error(err)
  end, bufnr)
end

local function format_check(result)
  if type(result) == "string" then
    return result
  elseif type(result) == "table" then
    if result.message then
      return result.message
    end
    return vim.inspect(result)
  end
  return "provider answered"
end

--- Ask the server whether its provider answers; reports through vim.notify.
function M.check()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = require_client(bufnr)
  if not client then
    return
  end
  request(client, "workspace/executeCommand", { command = "codegen.checkProvider", arguments = {} }, function(err, result)
    if err then
      report_error(err)
    else
      notify(format_check(result))
    end
  end, bufnr)
end

--- Trust the workspace's .codegen-lsp.toml as it is now (`revoke`: forget it); the server
--- reports what happened with a message and applies the file's settings at once.
function M.trust(revoke)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = require_client(bufnr)
  if not client then
    return
  end
  request(client, "workspace/executeCommand", {
    command = "codegen.trustProjectConfig",
    arguments = revoke and { { revoke = true } } or {},
  }, function(err)
    report_error(err)
  end, bufnr)
end

--- Synchronous provider check for :checkhealth.
---@return boolean ok, string message
function M.check_sync(client, timeout_ms)
  local response, err = request_sync(
    client,
    "workspace/executeCommand",
    { command = "codegen.checkProvider", arguments = {} },
    timeout_ms or 15000
  )
  if not response then
    return false, tostring(err)
  end
  if response.err then
    return false, response.err.message or vim.inspect(response.err)
  end
  local result = response.result
  local ok = not (type(result) == "table" and result.ok == false)
  return ok, format_check(result)
end

--- Entry point of `:Codegen`.
function M.command(cmd_opts)
  local sub = cmd_opts.fargs[1] or "actions"
  local rest = vim.trim(table.concat(vim.list_slice(cmd_opts.fargs, 2), " "))
  if sub == "rewrite" then
    return M.rewrite(cmd_opts, rest)
  elseif sub == "fix" then
    return M.actions(cmd_opts, "Codegen: Fix")
  elseif ACTIONS[sub] then
    return M.run(ACTIONS[sub], cmd_opts, rest ~= "" and rest or nil)
  elseif sub == "actions" then
    return M.actions(cmd_opts)
  elseif sub == "cancel" then
    return M.cancel(cmd_opts.bang or rest == "all")
  elseif sub == "check" then
    return M.check()
  elseif sub == "trust" then
    return M.trust(cmd_opts.bang or rest == "revoke")
  elseif sub == "suggest" then
    return require("codegen.inline").request()
  elseif sub == "inline" then
    local on = ({ on = true, off = false })[rest]
    if rest ~= "" and rest ~= "toggle" and on == nil then
      return notify("usage: :Codegen inline [on|off|toggle]", vim.log.levels.ERROR)
    end
    on = require("codegen.inline").enable(on)
    return notify("ghost text " .. (on and "on" or "off"))
  elseif sub == "status" then
    local status = M.status()
    return notify(status ~= "" and status or "no job running")
  end
  notify("unknown subcommand '" .. sub .. "'; try one of: " .. table.concat(M.subcommands, ", "), vim.log.levels.ERROR)
end

function M.complete(arg_lead, cmdline)
  if cmdline:match("^%S*%s+%S+%s") then
    return {}
  end
  return vim.tbl_filter(function(name)
    return vim.startswith(name, arg_lead)
  end, M.subcommands)
end

return M
