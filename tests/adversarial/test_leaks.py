"""``assert_no_secret`` itself: it must catch a secret in every spelling it can leak in."""

from __future__ import annotations

import base64
import json
import urllib.parse

import pytest
from leaks import Emitted, assert_no_secret

SECRET = 'sk-live-7Hq"2\\x9ZpLw0Rt4Vb8Nc6Md'


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"401: bad key {SECRET}", id="as-is"),
        pytest.param(json.dumps({"error": f"key {SECRET}"}), id="json-escaped"),
        pytest.param(f"GET /v1?key={urllib.parse.quote(SECRET, safe='')}", id="url-encoded"),
        *(
            pytest.param(
                "Authorization: Basic " + base64.b64encode(f"{user}:{SECRET}".encode()).decode(),
                id=f"base64-at-offset-{len(user) + 1}",
            )
            for user in ("u", "us", "use")
        ),
        pytest.param(f"key {SECRET[:20]}…", id="cut-short"),
        pytest.param(repr({"key": SECRET}), id="python-repr"),
    ],
)
def test_every_spelling_is_caught(text: str) -> None:
    with pytest.raises(AssertionError, match="a secret leaked into log"):
        assert_no_secret({"log": text}, [SECRET])


def test_clean_texts_pass_and_sources_are_named() -> None:
    emitted = Emitted()
    emitted.add_run("cli", "wrote a.py", "codegen-lsp: 401 from 127.0.0.1: check the key")
    emitted.add_run("cli", "", "")
    assert set(emitted.texts) == {"cli stdout", "cli stderr", "cli stdout #2", "cli stderr #2"}
    assert_no_secret(emitted.texts, [SECRET])
    assert_no_secret(["sk-live-", "7Hq"], [SECRET])  # pieces shorter than 8-12 characters are no leak
