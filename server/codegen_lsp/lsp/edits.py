"""Workspace edits the way each client can take them, and what their answers mean.

Text edits go out as versioned ``documentChanges`` carrying the document's *current* version
when the client supports them (an editor refuses a stale one instead of applying it in the wrong
place), as plain ``changes`` otherwise. New files use a ``CreateFile`` resource operation when
the client announces one. Every edit is labelled with the action's title, and an ``applied:
false`` answer becomes a sentence for the user that quotes the client's own reason. An editor
may also answer with a JSON-RPC error (eglot does when the user declines a server edit): that
is a refusal too, in the editor's words, never an "internal error".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

#: how much of an editor's own text a message quotes
_QUOTE = 300


@dataclass(frozen=True, slots=True)
class EditSupport:
    document_changes: bool
    create_files: bool

    @classmethod
    def of(cls, capabilities: lsp.ClientCapabilities) -> EditSupport:
        workspace_edit = capabilities.workspace.workspace_edit if capabilities.workspace else None
        if workspace_edit is None:
            return cls(document_changes=False, create_files=False)
        document_changes = bool(workspace_edit.document_changes)
        operations = workspace_edit.resource_operations or []
        create = document_changes and lsp.ResourceOperationKind.Create in operations
        return cls(document_changes=document_changes, create_files=create)


def text_edit(
    uri: str, version: int, edits: Sequence[lsp.TextEdit], support: EditSupport
) -> lsp.WorkspaceEdit:
    if support.document_changes:
        return lsp.WorkspaceEdit(
            document_changes=[
                lsp.TextDocumentEdit(
                    text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                    edits=list(edits),
                )
            ]
        )
    return lsp.WorkspaceEdit(changes={uri: list(edits)})


def new_file_edit(uri: str, text: str) -> lsp.WorkspaceEdit:
    """Create ``uri`` (never overwriting) and fill it with ``text``."""
    start = lsp.Position(line=0, character=0)
    return lsp.WorkspaceEdit(
        document_changes=[
            lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(overwrite=False, ignore_if_exists=False)),
            lsp.TextDocumentEdit(
                text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[lsp.TextEdit(range=lsp.Range(start=start, end=start), new_text=text)],
            ),
        ]
    )


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE else text[: _QUOTE - 1] + "…"


def error_answer(error: JsonRpcException) -> lsp.ApplyWorkspaceEditResult:
    """A JSON-RPC error answer to ``workspace/applyEdit``, read as the refusal it is."""
    # pygls fills in its class's placeholder ("Internal Error") where the editor sent no message
    said = "" if error.message == type(error).MESSAGE else _quote(error.message or "").rstrip(".")
    reason = (
        f"it answered with an error: {said} (code {error.code})"
        if said
        else f"it answered with error {error.code}"
    )
    return lsp.ApplyWorkspaceEditResult(applied=False, failure_reason=reason)


def refusal_reason(result: lsp.ApplyWorkspaceEditResult) -> str:
    """Why the editor did not apply an edit, in its own words where it gave some."""
    return _quote(result.failure_reason or "").rstrip(".") or "it gave no reason"


def refusal(result: lsp.ApplyWorkspaceEditResult, title: str) -> str | None:
    """None when the edit was applied, else the sentence telling the user why it was not."""
    if result.applied:
        return None
    return f"{title}: the editor did not apply the change: {refusal_reason(result)}."
