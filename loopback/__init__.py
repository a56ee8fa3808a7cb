"""Real HTTP servers on 127.0.0.1 that stand in for an OpenAI-compatible provider.

Dev tooling shared by ``tests/`` and ``bench/`` (not part of the installed package; pytest and
``python -m bench`` find it at the repository root). :class:`LoopbackServer` answers each
request with the next scripted reply: status codes, slow tokens, malformed and mid-stream
errors, dropped connections. The benchmark's reference provider (``bench/refprovider.py``)
builds on the same :class:`~loopback.http.LoopbackHTTPServer` with timed answers instead.

Typical use (the ``loopback`` fixture in ``tests/conftest.py`` starts and stops one)::

    loopback.script(chat_reply("def f():\\n", "    return 1\\n", token_delay=0.05))
    loopback.script(error_reply(429, "slow down", headers={"Retry-After": "1"}))
    ... point the client at loopback.base_url ("http://127.0.0.1:PORT/v1") ...
    assert loopback.requests[0].json["stream"] is True
    assert loopback.wait_disconnected(timeout=2)

The chunk builders (``chat_chunk``, ``chat_chunks``, ``sse_event``) produce OpenAI-style
``/chat/completions`` streaming bodies; anything else can be scripted as raw bytes.
"""

from loopback.http import RecordedRequest, self_signed_cert, server_ssl_context, sse_event
from loopback.openai import chat_chunk, chat_chunks, chat_completion_json
from loopback.scripted import LoopbackServer, Pause, Reply, chat_reply, error_reply, json_reply, sse_reply

__all__ = [
    "LoopbackServer",
    "Pause",
    "RecordedRequest",
    "Reply",
    "chat_chunk",
    "chat_chunks",
    "chat_completion_json",
    "chat_reply",
    "error_reply",
    "json_reply",
    "self_signed_cert",
    "server_ssl_context",
    "sse_event",
    "sse_reply",
]
