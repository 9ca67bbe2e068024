"""Produce the next item of an iterable in a thread while the caller works on the current one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass


def read_ahead(items: Iterable, ahead: int = 1):
    """`items`, each produced in a background thread while the caller works on the one before: at most
    `ahead` + 1 items are alive at once (the caller's, and those made ahead). An exception in the thread is
    raised in the caller; leaving the loop early stops the thread."""

    slots = threading.Semaphore(ahead + 1)
    made: queue.Queue = queue.Queue()
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            it = iter(items)
            while True:
                slots.acquire()
                if stop.is_set():
                    return
                item = next(it, end)
                made.put(item)
                if item is end:
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the caller, who raises it)
            made.put(_Failed(exc))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = made.get()
            if item is end:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
            del item  # the caller is done with it: its slot is free
            slots.release()
    finally:
        stop.set()
        slots.release()
        thread.join()


@dataclass
class _Failed:
    exc: BaseException
