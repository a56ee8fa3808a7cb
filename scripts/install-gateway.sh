#!/usr/bin/env bash
# Install the LiteLLM proxy that tests/gateway/ and bench/team.py put in front of two llama.cpp
# servers, into its OWN venv (default <repo>/.venv-gateway): litellm[proxy] pins dozens of packages
# (fastapi, pydantic, openai, uvicorn, ...) that must not fight the product's venv.
#
# Idempotent: when the pinned version is already there it says so and returns in about a second.
# Prints how long it took.  Environment: GATEWAY_VENV (its path), PYTHON (the interpreter to create
# it with).  The first install downloads ~60 wheels from PyPI (no compiler needed).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

# The newest release whose pinned proxy parts (litellm-enterprise, litellm-proxy-extras) are all on the
# index; 1.107.x was a compromised release (withdrawn).  Raise it on purpose, never float it.
LITELLM_VERSION=1.108.7
# Only imported: LiteLLM's auth-error handler does `import prisma` even without a database, and
# answers 500 instead of 401 to a wrong key when it is missing.  (No `prisma generate`, no engines.)
PRISMA_VERSION=0.15.0
GATEWAY_VENV=${GATEWAY_VENV:-$ROOT/.venv-gateway}

installed_versions() {
  "$GATEWAY_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"), m.version("prisma"))' \
    2>/dev/null || true
}

started=$SECONDS
if [ -x "$GATEWAY_VENV/bin/litellm" ] && [ "$(installed_versions)" = "$LITELLM_VERSION $PRISMA_VERSION" ]; then
  echo "== gateway: litellm $LITELLM_VERSION already in $GATEWAY_VENV"
  exit 0
fi
if [ ! -x "$GATEWAY_VENV/bin/python" ]; then
  py=$(find_python)
  echo "== gateway: creating $GATEWAY_VENV with $py"
  "$py" -m venv "$GATEWAY_VENV"
fi
echo "== gateway: installing litellm[proxy]==$LITELLM_VERSION into $GATEWAY_VENV"
status=0
"$GATEWAY_VENV/bin/python" -m pip install -q "litellm[proxy]==$LITELLM_VERSION" "prisma==$PRISMA_VERSION" 2>&1 |
  { grep -vE '^WARNING: Location .* is ignored' || true; } || status=$?
if [ "$status" -ne 0 ] || [ "$(installed_versions)" != "$LITELLM_VERSION $PRISMA_VERSION" ]; then
  echo "installation of litellm[proxy]==$LITELLM_VERSION failed (pip exit status $status)" >&2
  exit 1
fi
echo "== gateway: installed in $((SECONDS - started)) s"
