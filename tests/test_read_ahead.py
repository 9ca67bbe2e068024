"""`core.readahead.read_ahead`: the gold writer sorts the next window in a thread while it writes the current one."""

import threading

import pytest

from annotate.core.readahead import read_ahead


def test_items_come_in_order_with_at_most_one_made_ahead():
    alive = []  # items made and not yet finished by the consumer
    most = 0

    def items():
        nonlocal most
        for k in range(20):
            alive.append(k)
            most = max(most, len(alive))
            yield k

    seen = []
    for item in read_ahead(items()):
        seen.append(item)
        alive.remove(item)
    assert seen == list(range(20))
    assert most <= 2


def test_an_error_while_making_an_item_is_raised_in_the_caller():
    def items():
        yield 1
        raise OSError("disk full")

    got = []
    with pytest.raises(OSError, match="disk full"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1]


def test_leaving_early_stops_the_thread():
    made = []

    def items():
        for k in range(1000):
            made.append(k)
            yield k

    for item in read_ahead(items()):
        if item == 3:
            break
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    assert len(made) <= 6
