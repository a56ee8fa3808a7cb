" codegen-lsp through ALE (Debian/Ubuntu: apt install vim-ale; or any plugin manager).
" Source it from your vimrc after ALE is on the runtimepath:  source ~/src/codegen-lsp/clients/vim/codegen-ale.vim
" and name it among the linters ALE runs (ALE's defaults for a filetype do not include it):
"   let g:ale_linters = {'python': ['ruff', 'codegen-lsp']}
" Tried with Vim 9.0 + ALE 3.3: :ALECodeAction lists the Codegen actions and applies the edit.

" Start codegen-lsp for these filetypes, next to the linters ALE already runs for them.
let s:filetypes = ['python', 'javascript', 'typescript', 'rust', 'go', 'c', 'cpp', 'sh', 'lua']

function! s:CodegenRoot(buffer) abort
    for l:marker in ['.codegen-lsp.toml', 'pyproject.toml', 'package.json', 'Cargo.toml', 'go.mod']
        let l:found = ale#path#FindNearestFile(a:buffer, l:marker)
        if !empty(l:found)
            return fnamemodify(l:found, ':h')
        endif
    endfor
    let l:git = ale#path#FindNearestDirectory(a:buffer, '.git')
    return empty(l:git) ? fnamemodify(bufname(a:buffer), ':p:h') : fnamemodify(l:git, ':h:h')
endfunction

for s:filetype in s:filetypes
    call ale#linter#Define(s:filetype, {
    \   'name': 'codegen-lsp',
    \   'lsp': 'stdio',
    \   'executable': {buffer -> get(g:, 'codegen_lsp_executable', 'codegen-lsp')},
    \   'command': '%e serve',
    \   'project_root': function('s:CodegenRoot'),
    \   'initialization_options': {buffer -> get(g:, 'codegen_lsp_settings', {})},
    \})
endfor

nnoremap <silent> <leader>ca :ALECodeAction<CR>
xnoremap <silent> <leader>ca :ALECodeAction<CR>
