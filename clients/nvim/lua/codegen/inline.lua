--- Ghost text from codegen-lsp: `textDocument/inlineCompletion` answers drawn as extmarks.
---
--- While you type in Insert mode the plugin asks the server for a suggestion (debounced; one
--- request in flight per buffer, a newer keystroke cancels the older one) and draws it after the
--- cursor: its first line inline, the rest as virtual lines below. Keys accept it (all of it or its
--- first line), cycle through the others, dismiss it or ask for one by hand. Neovim 0.12+ has its
--- own client for this (`vim.lsp.inline_completion`): there the plugin enables that one instead and
--- maps the same accept/next/previous keys onto it.
local M = {}

local api = vim.api
local uv = vim.uv or vim.loop

M.ns = api.nvim_create_namespace("codegen.inline")
M.hl_group = "CodegenGhostText"

local METHOD = "textDocument/inlineCompletion"
-- InlineCompletionTriggerKind
local INVOKED, AUTOMATIC = 1, 2

---@class codegen.InlineKeys
---@field accept? string|false accept the whole suggestion (falls back to the key itself)
---@field accept_line? string|false accept its first line
---@field next? string|false show the next suggestion
---@field prev? string|false show the previous suggestion
---@field dismiss? string|false hide it until the next change
---@field trigger? string|false ask for a suggestion now (also when `auto` is off)

---@class codegen.InlineOptions
---@field enabled? boolean ghost text on (default true); `:Codegen inline off` turns it off for the session
---@field auto? boolean ask while typing (default true); false: only on `keys.trigger`
---@field debounce_ms? integer quiet time after a keystroke before asking (default 75)
---@field native? boolean on Neovim 0.12+, use vim.lsp.inline_completion (default true)
---@field keys? codegen.InlineKeys insert-mode keys; false disables one

---@type codegen.InlineOptions
M.defaults = {
  enabled = true,
  auto = true,
  debounce_ms = 75,
  native = true,
  keys = {
    accept = "<Tab>",
    accept_line = "<M-Right>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
    trigger = "<M-\\>",
  },
}

---@type codegen.InlineOptions
M.options = vim.deepcopy(M.defaults)

local client_name = "codegen"
local has_011 = vim.fn.has("nvim-0.11") == 1

--- Whether this Neovim has its own inline completion client (0.12+).
function M.native_available()
  return vim.lsp.inline_completion ~= nil and type(vim.lsp.inline_completion.enable) == "function"
end

local function use_native()
  return M.options.native ~= false and M.native_available()
end

---@class codegen.Suggestion
---@field text string what replaces the range (a snippet's placeholders shown as plain text)
---@field snippet? string the snippet body, when the server sent one
---@field sr integer range start row (0-based)
---@field sc integer range start byte column
---@field er integer range end row
---@field ec integer range end byte column
---@field ghost string[] what is drawn after the cursor, one entry per line
---@field command? table an LSP Command to run after accepting

---@class codegen.InlineState
---@field timer? uv.uv_timer_t
---@field pending? {client: vim.lsp.Client, id: integer}
---@field items? codegen.Suggestion[]
---@field index? integer
---@field row? integer cursor row when drawn (0-based)
---@field col? integer cursor byte column when drawn
---@field tick? integer changedtick when drawn
---@field client_id? integer

---@type table<integer, codegen.InlineState>
local buffers = {}

local function client_for(bufnr)
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = client_name })[1]
  if client and client.server_capabilities and client.server_capabilities.inlineCompletionProvider then
    return client
  end
  return nil
end

local function client_request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function client_cancel(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

--- A position's character offset (in the client's encoding) as a byte column of `line`.
local function byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col
  if has_011 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == "i"
end

--- A snippet body as the plain text it expands to, for drawing.
local function snippet_text(body)
  local text = body:gsub("%${%d+:([^}]*)}", "%1"):gsub("%${%d+|([^,|]*)[^}]*}", "%1")
  text = text:gsub("%${%d+}", ""):gsub("%$%d+", ""):gsub("\\(.)", "%1")
  return text
end

--- Turn one InlineCompletionItem into what is drawn and inserted; nil when it does not fit the
--- cursor (its range must start on the cursor line at or before the cursor, and the text
--- already typed in it must begin the suggestion).
---@return codegen.Suggestion?
local function suggestion(bufnr, item, row, col, encoding)
  local text, snippet = item.insertText, nil
  if type(text) == "table" then
    if text.kind ~= "snippet" or type(text.value) ~= "string" then
      return nil
    end
    snippet = text.value
    text = snippet_text(text.value)
  end
  if type(text) ~= "string" or text == "" then
    return nil
  end
  text = text:gsub("\r\n?", "\n")
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local sr, sc, er, ec = row, col, row, col
  if type(item.range) == "table" then
    local s, e = item.range.start, item.range["end"]
    local end_line = e.line == row and line or (api.nvim_buf_get_lines(bufnr, e.line, e.line + 1, false)[1] or "")
    sr, sc = s.line, byte_col(line, s.character, encoding)
    er, ec = e.line, byte_col(end_line, e.character, encoding)
  end
  if sr ~= row or sc > col or er < row or (er == row and ec < col) then
    return nil
  end
  local typed = line:sub(sc + 1, col)
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  local ghost = vim.split(text:sub(#typed + 1), "\n", { plain = true })
  -- A one-line suggestion that also replaces the text right after the cursor and ends with it
  -- ("foo)" over ")"): that part is already on screen.
  local after = er == row and line:sub(col + 1, ec) or ""
  if #ghost == 1 and after ~= "" and ghost[1]:sub(-#after) == after then
    ghost[1] = ghost[1]:sub(1, #ghost[1] - #after)
  end
  if #ghost == 1 and ghost[1] == "" then
    return nil
  end
  return { text = text, snippet = snippet, sr = sr, sc = sc, er = er, ec = ec, ghost = ghost, command = item.command }
end

local function state(bufnr)
  buffers[bufnr] = buffers[bufnr] or {}
  return buffers[bufnr]
end

local function draw(bufnr)
  local s = buffers[bufnr]
  api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local item = s and s.items and s.items[s.index]
  if not item then
    return
  end
  local spaces = string.rep(" ", vim.bo[bufnr].tabstop)
  local function chunk(text)
    -- virtual text draws a tab as one cell: expand it as the buffer would
    return { { (text:gsub("\t", spaces)), M.hl_group } }
  end
  local opts = { hl_mode = "combine", priority = 1000 }
  if item.ghost[1] ~= "" then
    opts.virt_text = chunk(item.ghost[1])
    opts.virt_text_pos = "inline"
  end
  if #item.ghost > 1 then
    opts.virt_lines = {}
    for i = 2, #item.ghost do
      table.insert(opts.virt_lines, chunk(item.ghost[i]))
    end
  end
  api.nvim_buf_set_extmark(bufnr, M.ns, s.row, s.col, opts)
end

--- Hide the suggestion (the answer in flight, if any, still arrives and may show one).
local function clear(bufnr)
  local s = buffers[bufnr]
  if s then
    s.items, s.index = nil, nil
  end
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

local function cancel(bufnr)
  local s = buffers[bufnr]
  if not s then
    return
  end
  if s.timer then
    s.timer:stop()
  end
  if s.pending then
    pcall(client_cancel, s.pending.client, s.pending.id)
    s.pending = nil
  end
end

--- Ask the server for suggestions at the cursor now.
---@param bufnr? integer
---@param kind? integer 1 invoked (by hand), 2 automatic (while typing)
function M.request(bufnr, kind)
  bufnr = bufnr or api.nvim_get_current_buf()
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) ~= bufnr or not M.options.enabled then
    return
  end
  local client = client_for(bufnr)
  if not client then
    return
  end
  cancel(bufnr)
  local s = state(bufnr)
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = kind or INVOKED }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local cursor = api.nvim_win_get_cursor(win)
  local id
  local function on_result(err, result)
    if not s.pending or s.pending.id ~= id then
      return -- superseded by a newer request
    end
    s.pending = nil
    if err then
      if err.code ~= -32800 then
        vim.lsp.log.warn("codegen inline completion:", err.message or err)
      end
      return
    end
    local now = api.nvim_win_get_cursor(win)
    if
      not api.nvim_buf_is_valid(bufnr)
      or api.nvim_buf_get_changedtick(bufnr) ~= tick
      or now[1] ~= cursor[1]
      or now[2] ~= cursor[2]
      or not in_insert_mode()
    then
      return -- the answer is about text that is no longer there
    end
    local items = {}
    local list = type(result) == "table" and (result.items or result) or {}
    for _, item in ipairs(list) do
      table.insert(items, suggestion(bufnr, item, cursor[1] - 1, cursor[2], client.offset_encoding))
    end
    clear(bufnr)
    if #items == 0 then
      return
    end
    s.items, s.index = items, 1
    s.row, s.col, s.tick, s.client_id = cursor[1] - 1, cursor[2], tick, client.id
    draw(bufnr)
    api.nvim_exec_autocmds("User", { pattern = "CodegenSuggestion", data = { bufnr = bufnr, count = #items } })
  end
  local ok
  ok, id = client_request(client, METHOD, params, on_result, bufnr)
  if ok and id then
    s.pending = { client = client, id = id }
  end
end

--- Ask after `debounce_ms` of quiet (each call restarts the wait).
function M.schedule(bufnr)
  local s = state(bufnr)
  s.timer = s.timer or uv.new_timer()
  s.timer:stop()
  s.timer:start(
    M.options.debounce_ms or 0,
    0,
    vim.schedule_wrap(function()
      if api.nvim_buf_is_valid(bufnr) and api.nvim_get_current_buf() == bufnr and in_insert_mode() then
        M.request(bufnr, AUTOMATIC)
      end
    end)
  )
end

--- The suggestion shown in `bufnr`, if any.
---@return codegen.Suggestion?
function M.current(bufnr)
  local s = buffers[bufnr or api.nvim_get_current_buf()]
  return s and s.items and s.items[s.index] or nil
end

--- Whether a suggestion is shown (for your own mappings).
function M.visible(bufnr)
  if use_native() then
    return false
  end
  return M.current(bufnr) ~= nil
end

--- Insert the shown suggestion (`line`: only its first line) and move the cursor after it.
---@param opts? {line?: boolean}
---@return boolean accepted
function M.accept(opts)
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  local item = M.current(bufnr)
  if not s or not item then
    return false
  end
  cancel(bufnr)
  clear(bufnr)
  if opts and opts.line and #item.ghost > 1 then
    -- the first line only, at the cursor; the next answer (typed-through) shows the rest
    api.nvim_buf_set_text(bufnr, s.row, s.col, s.row, s.col, { item.ghost[1] })
    api.nvim_win_set_cursor(0, { s.row + 1, s.col + #item.ghost[1] })
    return true
  end
  if item.snippet and vim.snippet then
    api.nvim_buf_set_text(bufnr, item.sr, item.sc, item.er, item.ec, { "" })
    api.nvim_win_set_cursor(0, { item.sr + 1, item.sc })
    vim.snippet.expand(item.snippet)
  else
    local lines = vim.split(item.text, "\n", { plain = true })
    api.nvim_buf_set_text(bufnr, item.sr, item.sc, item.er, item.ec, lines)
    local last = item.sr + #lines - 1
    local col = (#lines == 1 and item.sc or 0) + #lines[#lines]
    api.nvim_win_set_cursor(0, { last + 1, col })
  end
  local client = item.command and vim.lsp.get_client_by_id(s.client_id)
  if client then
    if has_011 then
      client:exec_cmd(item.command, { bufnr = bufnr })
    else
      client_request(client, "workspace/executeCommand", item.command, function() end, bufnr)
    end
  end
  return true
end

--- Show the next (`step` 1) or previous (-1) suggestion.
function M.cycle(step)
  local bufnr = api.nvim_get_current_buf()
  local s = buffers[bufnr]
  if not s or not s.items then
    return
  end
  s.index = (s.index - 1 + step) % #s.items + 1
  draw(bufnr)
end

--- Hide the suggestion and stop the request in flight; the next change asks again.
function M.dismiss(bufnr)
  bufnr = bufnr or api.nvim_get_current_buf()
  cancel(bufnr)
  clear(bufnr)
end

--- After a keystroke: keep showing the rest of the suggestion when the user typed its next
--- characters (the server's answer for the new cursor follows), else hide it at once, so no
--- suggestion is ever drawn against text it was not made for.
local function typed_through(bufnr)
  local s = buffers[bufnr]
  local item = s and s.items and s.items[s.index]
  if not item then
    return
  end
  local cursor = api.nvim_win_get_cursor(0)
  local row, col = cursor[1] - 1, cursor[2]
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local typed = row == s.row and col > s.col and line:sub(s.col + 1, col) or nil
  if not typed or item.ghost[1]:sub(1, #typed) ~= typed or (#item.ghost == 1 and #typed == #item.ghost[1]) then
    return clear(bufnr)
  end
  item.ghost[1] = item.ghost[1]:sub(#typed + 1)
  if item.er == row then
    item.ec = item.ec + #typed -- what was typed now lies inside the range the suggestion replaces
  end
  s.items, s.index = { item }, 1
  s.col, s.tick = col, api.nvim_buf_get_changedtick(bufnr)
  draw(bufnr)
end

-- ---------------------------------------------------------------------------------------------
-- Buffers and keys

local function termcodes(key)
  return api.nvim_replace_termcodes(key, true, false, true)
end

local ACTIONS = {
  accept = function()
    M.accept()
  end,
  accept_line = function()
    M.accept({ line = true })
  end,
  next = function()
    M.cycle(1)
  end,
  prev = function()
    M.cycle(-1)
  end,
  dismiss = function()
    M.dismiss()
  end,
}

--- Run a key's action (`accept`, `accept_line`, `next`, `prev`, `dismiss`).
function M.act(name)
  ACTIONS[name]()
end

--- An insert-mode key that acts when a suggestion is shown and is itself otherwise.
local function map_key(bufnr, lhs, name)
  if not lhs then
    return
  end
  -- <Cmd> runs the action in order with the keys typed after it, outside the expression
  -- (which may not change the buffer)
  local run = termcodes(string.format("<Cmd>lua require('codegen.inline').act(%q)<CR>", name))
  vim.keymap.set("i", lhs, function()
    if M.visible(bufnr) then
      return run
    end
    return termcodes(lhs)
  end, { buffer = bufnr, expr = true, replace_keycodes = false, desc = "codegen: " .. name:gsub("_", " ") })
end

local function map_native_keys(bufnr)
  local keys = M.options.keys or {}
  local native = vim.lsp.inline_completion
  if keys.accept then
    vim.keymap.set("i", keys.accept, function()
      if not native.get() then
        return termcodes(keys.accept)
      end
      return ""
    end, { buffer = bufnr, expr = true, replace_keycodes = false, desc = "codegen: accept the suggestion" })
  end
  for name, count in pairs({ next = 1, prev = -1 }) do
    if keys[name] then
      vim.keymap.set("i", keys[name], function()
        native.select({ count = count })
      end, { buffer = bufnr, desc = "codegen: " .. name .. " suggestion" })
    end
  end
end

local function attach_native(bufnr)
  vim.lsp.inline_completion.enable(M.options.enabled ~= false, { bufnr = bufnr })
  map_native_keys(bufnr)
end

--- Start ghost text in a buffer the codegen client is attached to.
function M.attach(bufnr)
  if buffers[bufnr] and buffers[bufnr].attached then
    return
  end
  state(bufnr).attached = true
  if use_native() then
    return attach_native(bufnr)
  end
  local keys = M.options.keys or {}
  for name in pairs(ACTIONS) do
    map_key(bufnr, keys[name], name)
  end
  if keys.trigger then
    vim.keymap.set("i", keys.trigger, function()
      M.request(bufnr, INVOKED)
    end, { buffer = bufnr, desc = "codegen: suggest" })
  end

  local group = api.nvim_create_augroup("codegen.inline." .. bufnr, { clear = true })
  api.nvim_create_autocmd({ "InsertEnter", "TextChangedI", "TextChangedP" }, {
    group = group,
    buffer = bufnr,
    callback = function(args)
      if not (M.options.enabled and M.options.auto and vim.fn.pumvisible() == 0) then
        return M.dismiss(bufnr)
      end
      if args.event == "TextChangedI" then
        typed_through(bufnr)
      end
      M.schedule(bufnr)
    end,
  })
  api.nvim_create_autocmd("CursorMovedI", {
    group = group,
    buffer = bufnr,
    callback = function()
      local s = buffers[bufnr]
      if not (s and s.items) or api.nvim_buf_get_changedtick(bufnr) ~= s.tick then
        return -- typing: TextChangedI follows and asks again
      end
      local cursor = api.nvim_win_get_cursor(0)
      if cursor[1] - 1 ~= s.row or cursor[2] ~= s.col then
        M.dismiss(bufnr)
      end
    end,
  })
  api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
  api.nvim_create_autocmd({ "LspDetach", "BufUnload" }, {
    group = group,
    buffer = bufnr,
    callback = function(args)
      if args.event == "LspDetach" then
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if not client or client.name ~= client_name then
          return
        end
      end
      M.dismiss(bufnr)
      local s = buffers[bufnr]
      if s and s.timer then
        s.timer:close()
      end
      buffers[bufnr] = nil
      pcall(api.nvim_del_augroup_by_id, group)
    end,
  })
end

--- Turn ghost text on or off for this session (nil: toggle).
---@param on? boolean
function M.enable(on)
  if on == nil then
    on = not M.options.enabled
  end
  M.options.enabled = on
  if use_native() then
    vim.lsp.inline_completion.enable(on)
  elseif not on then
    for bufnr in pairs(buffers) do
      M.dismiss(bufnr)
    end
  end
  return on
end

--- The client capability to declare: the server then knows this editor shows ghost text.
function M.capabilities()
  return { textDocument = { inlineCompletion = { dynamicRegistration = false } } }
end

---@param opts? codegen.InlineOptions
---@param name? string the client's name
function M.setup(opts, name)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  client_name = name or client_name
  api.nvim_set_hl(0, M.hl_group, { link = "Comment", default = true })
  local group = api.nvim_create_augroup("codegen.inline", { clear = true })
  api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == client_name and client_for(args.buf) then
        M.attach(args.buf)
      end
    end,
  })
  -- buffers the client attached to before this setup
  for _, client in ipairs(vim.lsp.get_clients({ name = client_name })) do
    for bufnr in pairs(client.attached_buffers or {}) do
      if client_for(bufnr) then
        M.attach(bufnr)
      end
    end
  end
end

return M
