"""Typing into a large document while a job runs costs memory in the size of the keystrokes.

Each keystroke once cost a running job a copy of the whole document (a 5 MB file and 80
keystrokes took the server from 53 to 493 MiB). Here the document store and the job manager,
the real ones, follow 200 keystrokes into a 5 MB document while a job tracks its target, and
what stays allocated afterwards is measured with tracemalloc: it must be kilobytes, not the
gigabyte 200 copies would be. The same is checked structurally (a recorded change holds strings
in its own size; a plan holds no copy of the document) and, end to end, on the server process's
RSS with a generous bound; ``bench/typing_memory.py`` measures the RSS itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import pytest_lsp
from lsp_session import initialize, server_env
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from codegen_lsp.core import pipeline
from codegen_lsp.core.settings import ProviderSettings, Settings
from codegen_lsp.core.types import EditRequest, Position, Range
from codegen_lsp.lsp.documents import AppliedChange, DocumentStore
from codegen_lsp.lsp.jobs import Job, JobManager
from loopback import LoopbackServer, chat_reply

URI = "file:///big.py"
KEYSTROKES = 200
MIB = 2**20


def big_document(size_mb: float = 5.0) -> str:
    line = "value_{n:07d} = compute({n}, 'some text to make the line longer')  # noqa\n"
    count = int(size_mb * 1_000_000 / len(line.format(n=0)))
    return "# Return the factorial of n.\n\n" + "".join(line.format(n=n) for n in range(count))


def keystroke(version: int, line: int, character: int, text: str = "x") -> lsp.DidChangeTextDocumentParams:
    point = lsp.Position(line=line, character=character)
    return lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
        content_changes=[
            lsp.TextDocumentContentChangePartial(range=lsp.Range(start=point, end=point), text=text)
        ],
    )


def whole(version: int, text: str) -> lsp.DidChangeTextDocumentParams:
    return lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)],
    )


@pytest.mark.parametrize("sync", ["incremental", "full"])
async def test_a_job_keeps_kilobytes_for_200_keystrokes_into_5_mb(sync: str) -> None:
    text = big_document()
    store, jobs = DocumentStore(), JobManager()
    store.subscribe(jobs.on_change)
    document = store.open(lsp.TextDocumentItem(uri=URI, language_id="python", version=1, text=text))
    assert document.index.line_count > 60_000  # built before the measurement, as by a first reader
    seen_by_hook: list[int] = []
    job = Job(uri=URI, title="t", target=Range(Position(2, 0), Position(2, 0)), version=1)
    # what live insertion does: look at the text after each change (and keep none of it)
    job.on_change = lambda applied, after: seen_by_hook.append(len(after))
    release = asyncio.Event()
    jobs.start(job, release.wait())
    last_line = text.count("\n")

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for n in range(KEYSTROKES):
            if sync == "incremental":
                store.change(keystroke(n + 2, last_line, n))
            else:
                current = store.get(URI)
                assert current is not None
                store.change(whole(n + 2, current.text + "x"))
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    release.set()

    assert len(job.changes) == KEYSTROKES
    assert seen_by_hook[-1] == len(text) + KEYSTROKES
    # What stays is the document's current text (made while tracing) and the changes, a few
    # hundred bytes each; 200 copies of the document would be a gigabyte.
    kept = after - before - sys.getsizeof(document.text)
    assert kept < 1 * MIB, f"{kept / MIB:.1f} MiB stayed allocated besides the document"
    # and the target still follows the typing (it is above it, so it stays put)
    assert job.replay(job.target) == job.target


def test_a_recorded_change_holds_strings_in_its_own_size() -> None:
    text = big_document(1.0)
    store = DocumentStore()
    recorded: list[AppliedChange] = []
    store.subscribe(lambda document, applied: recorded.append(applied))
    store.open(lsp.TextDocumentItem(uri=URI, language_id="python", version=1, text=text))
    store.change(keystroke(2, 5, 3, "typed"))
    store.change(whole(3, text.replace("value_0000100", "renamed_0100", 1)))
    for applied in recorded:
        size = len(applied.splice.inserted) + len(applied.splice.removed)
        for value in _strings(applied):
            assert len(value) <= max(size, 16), f"{len(value)} characters kept for a {size}-character change"


def test_a_plan_holds_no_copy_of_the_document() -> None:
    text = big_document(1.0)
    settings = Settings(
        providers={"p": ProviderSettings(name="p", base_url="http://127.0.0.1:9/v1")}, provider="p"
    )
    request = EditRequest(
        text=text,
        range=Range(Position(0, 0), Position(0, 0)),
        action="generate_from_comment",
        language_id="python",
        path="/tmp/big.py",
    )
    plan = pipeline.prepare(request, settings)
    longest = max(len(s) for s in _strings(plan))
    assert longest < len(text) // 10, f"the plan keeps a {longest}-character string"


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string inside ``value`` (dataclasses, sequences, mappings), a few levels deep."""
    if depth > 6:
        return
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, depth + 1)
            yield from _strings(item, depth + 1)


# --- the server process, end to end ------------------------------------------------------------

_HOME = Path(tempfile.mkdtemp(prefix="codegen-lsp-typing-"))


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "codegen_lsp.lsp", "warning"], server_env=server_env(_HOME)
    ),
)
async def server(lsp_client: LanguageClient, lb: LoopbackServer) -> AsyncIterator[LanguageClient]:
    options = {
        "baseUrl": lb.base_url,
        "model": "loopback-model",
        "timeouts": {"firstToken": 120, "connect": 2},
    }
    await initialize(lsp_client, _HOME, options)
    yield lsp_client
    await lsp_client.shutdown_session()


async def _drained_rss(client: LanguageClient) -> int:
    # a request the server answers after everything sent before it
    await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri="file:///not-open.py"),
            range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
            context=lsp.CodeActionContext(diagnostics=[]),
        )
    )
    pid = client._server.pid  # type: ignore[union-attr]
    return int(psutil.Process(pid).memory_info().rss)


@pytest.mark.e2e
@pytest.mark.asyncio(loop_scope="module")
async def test_the_server_stays_small_while_typing_during_a_job(
    server: LanguageClient, lb: LoopbackServer
) -> None:
    text = big_document()
    server.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=URI, language_id="python", version=1, text=text)
        )
    )
    idle = await _drained_rss(server)
    lb.script(chat_reply("def f():\n", "    pass\n", delay=60))  # the job waits all along
    point = {"line": 0, "character": 0}
    arguments = {
        "uri": URI,
        "version": 1,
        "range": {"start": point, "end": point},
        "action": "generate_from_comment",
    }
    job = asyncio.ensure_future(
        server.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codegen.generate", arguments=[arguments])
        )
    )
    await asyncio.to_thread(lb.wait_requests, 1, 20)
    last_line = text.count("\n")
    for n in range(KEYSTROKES):
        server.text_document_did_change(keystroke(n + 2, last_line, n))
    typed = await _drained_rss(server)
    assert not job.done()
    await server.workspace_execute_command_async(
        lsp.ExecuteCommandParams(command="codegen.cancel", arguments=[])
    )
    answer = await asyncio.wait_for(job, 10)
    assert answer["status"] == "cancelled"
    # 200 copies would be a gigabyte; the measured growth is ~25 MiB, first job's imports included
    assert typed - idle < 100 * MIB, f"+{(typed - idle) / MIB:.0f} MiB over idle"
