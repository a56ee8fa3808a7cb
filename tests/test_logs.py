"""``codegen_lsp.logs.RepeatLimiter``: a repeated record costs a few lines, never a flood."""

from __future__ import annotations

import io
import logging

import pytest

from codegen_lsp.logs import RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logged() -> tuple[logging.Logger, io.StringIO, Clock]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    clock = Clock()
    handler.addFilter(RepeatLimiter(burst=3, window=60, clock=clock))
    logger = logging.getLogger(f"test-logs-{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out, clock


def _fail(logger: logging.Logger, number: int) -> None:
    try:
        raise ValueError(f"boom {number}")
    except ValueError:
        logger.exception("could not send %s", number)


def test_a_repeated_record_passes_burst_times_with_one_traceback(
    logged: tuple[logging.Logger, io.StringIO, Clock],
) -> None:
    logger, out, _ = logged
    for number in range(1000):
        _fail(logger, number)
    text = out.getvalue()
    assert text.count("could not send") == 3
    assert text.count("Traceback") == 1
    assert "traceback as logged before" in text
    assert "more like this in the next 60 s are not logged" in text
    assert len(text) < 2000


def test_after_the_window_the_count_of_held_records_is_told(
    logged: tuple[logging.Logger, io.StringIO, Clock],
) -> None:
    logger, out, clock = logged
    for number in [*range(10), 99]:
        if number == 99:
            clock.now = 61
        logger.warning("dropped %d bytes", number)  # one call site: one kind
    last = out.getvalue().splitlines()[-1]
    assert last == "dropped 99 bytes [7 more like this were not logged]"


def test_different_kinds_are_counted_apart(logged: tuple[logging.Logger, io.StringIO, Clock]) -> None:
    logger, out, _ = logged
    for _ in range(10):
        logger.warning("one")
        logger.info("one")  # another level is another kind
        logger.warning("two")
    text = out.getvalue().splitlines()
    assert [line.split(" [")[0] for line in text].count("one") == 6
    assert [line.split(" [")[0] for line in text].count("two") == 3


def test_a_percent_sign_in_the_message_survives_the_note(
    logged: tuple[logging.Logger, io.StringIO, Clock],
) -> None:
    logger, out, _ = logged
    for _ in range(3):
        logger.warning("100%% of %s", "it")
    assert out.getvalue().splitlines()[-1].startswith("100% of it [more like this")
