" codegen-lsp through vim-lsp (https://github.com/prabirshrestha/vim-lsp), which runs several servers
" per buffer and answers the server's workspace/applyEdit and workspace/configuration requests.
" Source it from your vimrc after vim-lsp is loaded.

let g:codegen_lsp_settings = get(g:, 'codegen_lsp_settings', {})

if executable(get(g:, 'codegen_lsp_executable', 'codegen-lsp'))
    augroup codegen_lsp
        autocmd!
        autocmd User lsp_setup call lsp#register_server({
        \   'name': 'codegen-lsp',
        \   'cmd': {server_info -> [get(g:, 'codegen_lsp_executable', 'codegen-lsp'), 'serve']},
        \   'allowlist': ['python', 'javascript', 'typescript', 'rust', 'go', 'c', 'cpp', 'sh', 'lua'],
        \   'root_uri': {server_info -> lsp#utils#path_to_uri(
        \       lsp#utils#find_nearest_parent_file_directory(lsp#utils#get_buffer_path(),
        \           ['.codegen-lsp.toml', 'pyproject.toml', 'package.json', 'Cargo.toml', '.git/']))},
        \   'initialization_options': g:codegen_lsp_settings,
        \   'workspace_config': {'codegen': g:codegen_lsp_settings},
        \})
    augroup END
endif

" :LspCodeAction lists every server's actions, the Codegen ones among them.
nnoremap <silent> <leader>ca :LspCodeAction<CR>
xnoremap <silent> <leader>ca :LspCodeAction<CR>
command! CodegenCancel call lsp#send_request('codegen-lsp', {
\   'method': 'workspace/executeCommand',
\   'params': {'command': 'codegen.cancel', 'arguments': [{'all': v:true}]},
\})
