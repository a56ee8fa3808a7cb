"""A LiteLLM callback for the gateway tests: one JSON line per request the proxy accepted.

Loaded inside the LiteLLM proxy process (``litellm_settings.callbacks``), never by pytest. It
writes what the gateway knows about each call to the file named by ``GATEWAY_RECORD``: whose key
(``user_id``, from ``team_keys.py``), the request's ``user`` field (LiteLLM's end user) and the
extra headers codegen-lsp sent, so the tests can prove that per-request metadata arrives. The
API key itself is never written.
"""

from __future__ import annotations

import json
import os
from typing import Any

from litellm.integrations.custom_logger import CustomLogger


class Recorder(CustomLogger):  # type: ignore[misc]  # litellm is not installed where mypy runs
    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict[str, Any], call_type: Any
    ) -> Any:
        metadata = data.get("metadata") or {}
        headers = metadata.get("headers") or {}
        line = {
            "user_id": user_api_key_dict.user_id,
            "end_user": data.get("user"),
            "headers": {k: v for k, v in headers.items() if k.lower().startswith("x-")},
        }
        _append(json.dumps(line))
        return data


def _append(line: str) -> None:
    # a few hundred bytes per request to a local file: not worth a thread in a test gateway
    with open(os.environ["GATEWAY_RECORD"], "a", encoding="utf-8") as record:
        record.write(line + "\n")


recorder = Recorder()
