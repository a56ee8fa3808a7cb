-- Drives ghost text in a real Neovim as a user would, typing into it:
--   nvim --headless --clean -l inline.lua SCENARIO FILE RESULT_JSON
-- This Neovim only drives: it starts the editor under test as a child (`nvim --embed`), whose
-- main loop handles the keys sent with nvim_input exactly like typed ones (InsertEnter,
-- TextChangedI, the debounce timer, insert-mode mappings), which a `-l` script cannot do itself.
-- Environment: CODEGEN_PLUGIN_DIR (clients/nvim), CODEGEN_SERVER_CMD (JSON list),
-- CODEGEN_CURSOR ("row,col": where the user starts typing, 1-based row, 0-based byte col),
-- CODEGEN_TYPE (the keys typed there, nvim_input notation).
-- SCENARIO "accept": type, wait for the ghost text, <Tab>.  "dismiss": type, wait for it, <C-]>,
-- then <Tab> (now a plain tab).  "type-through": type, wait for it, type CODEGEN_TYPE_MORE (its
-- next characters), wait for the rest of it, <Tab>.
-- Writes {ok, error, lines, ghost, ghost_after, notifications, requests} to RESULT_JSON.
local scenario, file, result_path = arg[1], arg[2], arg[3]
local TIMEOUT = 20000

local result = { ok = false, scenario = scenario, notifications = {} }
local child

local function lua(code, ...)
  return vim.rpcrequest(child, "nvim_exec_lua", code, { ... })
end

local function wait_for(what, predicate)
  if not vim.wait(TIMEOUT, predicate, 25) then
    error("timed out waiting for " .. what)
  end
end

-- The ghost text the child draws: the inline part and the virtual lines, as plain strings.
local GHOST = [[
  local ns = require("codegen.inline").ns
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    local d = mark[4]
    local inline = ""
    for _, chunk in ipairs(d.virt_text or {}) do inline = inline .. chunk[1] end
    local below = {}
    for _, line in ipairs(d.virt_lines or {}) do
      local text = ""
      for _, chunk in ipairs(line) do text = text .. chunk[1] end
      table.insert(below, text)
    end
    return { row = mark[2], col = mark[3], inline = inline, lines = below,
             hl = d.virt_text and d.virt_text[1] and d.virt_text[1][2] or nil }
  end
  return vim.NIL
]]

local function ghost()
  local found = lua(GHOST)
  return found ~= vim.NIL and found or nil
end

local function lines()
  return lua("return vim.api.nvim_buf_get_lines(0, 0, -1, false)")
end

local function type_keys(keys)
  vim.rpcrequest(child, "nvim_input", keys)
end

local function run()
  child = vim.fn.jobstart({ vim.v.progpath, "--embed", "--headless", "--clean" }, { rpc = true })
  assert(child > 0, "could not start the child Neovim")
  lua(
    [[
    local plugin_dir, cmd = ...
    _G.notifications = {}
    vim.notify = function(msg, level)
      table.insert(_G.notifications, { message = tostring(msg), level = level })
    end
    vim.lsp.handlers["window/showMessage"] = function(_, params)
      local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO }
      table.insert(_G.notifications, { message = "server: " .. params.message, level = levels[params.type] })
      return vim.NIL
    end
    vim.o.swapfile = false
    vim.opt.runtimepath:prepend(plugin_dir)
    vim.cmd.runtime("plugin/codegen.lua")
    -- a short debounce keeps the test quick; everything else is the default configuration
    require("codegen").setup({ cmd = vim.json.decode(cmd), inline = { debounce_ms = 30 } })
    _G.suggestions = 0
    vim.api.nvim_create_autocmd("User", { pattern = "CodegenSuggestion", callback = function()
      _G.suggestions = _G.suggestions + 1
    end })
  ]],
    os.getenv("CODEGEN_PLUGIN_DIR"),
    os.getenv("CODEGEN_SERVER_CMD")
  )
  lua("vim.cmd.edit(vim.fn.fnameescape(...)); vim.bo.filetype = 'python'", file)
  wait_for("the codegen client to initialize", function()
    return lua([[
      local client = require("codegen").client()
      return client ~= nil and client.initialized == true
    ]])
  end)
  result.inline_provider = lua("return require('codegen').client().server_capabilities.inlineCompletionProvider ~= nil")
  assert(result.inline_provider, "the server does not advertise inlineCompletionProvider")

  local row, col = os.getenv("CODEGEN_CURSOR"):match("(%d+),(%d+)")
  lua("vim.api.nvim_win_set_cursor(0, { ... })", tonumber(row), tonumber(col))
  -- `a` after the cursor character, `i` at column 0
  type_keys((tonumber(col) > 0 and "a" or "i") .. os.getenv("CODEGEN_TYPE"))
  -- the answer for the cursor where typing stopped (not one for a keystroke before)
  wait_for("the ghost text", function()
    local now, cursor = ghost(), lua("return vim.api.nvim_win_get_cursor(0)")
    return now ~= nil and now.row == cursor[1] - 1 and now.col == cursor[2]
  end)
  result.ghost = ghost()
  result.before_accept = lines()

  if scenario == "accept" then
    type_keys("<Tab>")
  elseif scenario == "type-through" then
    -- the user types what the suggestion says: it stays, shortened, then <Tab> takes the rest
    type_keys(os.getenv("CODEGEN_TYPE_MORE"))
    wait_for("the rest of the ghost text", function()
      local now, cursor = ghost(), lua("return vim.api.nvim_win_get_cursor(0)")
      return now ~= nil and now.col == cursor[2] and now.col > result.ghost.col
    end)
    result.ghost_typed = ghost()
    result.before_accept = lines()
    type_keys("<Tab>")
  elseif scenario == "dismiss" then
    type_keys("<C-]>")
    wait_for("the ghost text to go", function()
      return ghost() == nil
    end)
    result.after_dismiss = lines()
    -- nothing is shown now, so <Tab> is an ordinary tab again
    type_keys("<Tab>")
  else
    error("unknown scenario " .. tostring(scenario))
  end
  local before = vim.inspect(result.before_accept)
  wait_for("the buffer to change", function()
    return vim.inspect(lines()) ~= before
  end)
  -- let a late or second edit land too
  vim.wait(300)
  type_keys("<Esc>")
  wait_for("Normal mode", function()
    return lua("return vim.api.nvim_get_mode().mode") == "n"
  end)
  result.ghost_after = ghost()
  result.mode = lua("return vim.api.nvim_get_mode().mode")
  result.cursor = lua("return vim.api.nvim_win_get_cursor(0)")
  result.suggestions = lua("return _G.suggestions")
  result.lines = lines()
  result.ok = true
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  result.error = tostring(err)
end
if child and child > 0 then
  pcall(function()
    result.notifications = lua("return _G.notifications")
    if not result.lines then
      result.lines = lines()
    end
    lua([[
      for _, client in ipairs(vim.lsp.get_clients()) do client:stop() end
      vim.wait(3000, function() return #vim.lsp.get_clients() == 0 end, 20)
    ]])
  end)
  vim.fn.jobstop(child)
end

local fd = assert(io.open(result_path, "w"))
fd:write(vim.json.encode(result))
fd:close()
