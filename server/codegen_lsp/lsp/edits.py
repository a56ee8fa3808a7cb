"""Workspace edits the way each client can take them, and what their answers mean.

Text edits go out as versioned ``documentChanges`` carrying the document's *current* version
when the client supports them (an editor refuses a stale one instead of applying it in the wrong
place), as plain ``changes`` otherwise. New files use a ``CreateFile`` resource operation when
the client announces one. Every edit is labelled with the action's title, and an ``applied:
false`` answer becomes a sentence for the user that quotes the client's own reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types as lsp


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


def refusal(result: lsp.ApplyWorkspaceEditResult, title: str) -> str | None:
    """None when the edit was applied, else the sentence telling the user why it was not."""
    if result.applied:
        return None
    reason = (result.failure_reason or "").strip().rstrip(".")
    because = f": {reason}." if reason else " (it gave no reason)."
    return f"{title}: the editor did not apply the change{because} The document was left as it was."
