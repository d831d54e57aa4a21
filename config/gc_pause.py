"""Keeping Python's cyclic garbage collector out of the way: paused around bulk work, and
kept off a web worker's long-lived objects.

Parsing and validating a 100,000-row upload allocates a few hundred thousand dicts, lists
and dataclass rows, all freed by reference counting. The cyclic collector still counts
them, and each time a generation fills it walks every tracked object of the process
(Django, DRF, Presidio: several hundred thousand): about a third of the CPU a large
import spent parsing. Pausing it costs nothing in memory for this acyclic data.

The switch is process-wide. Another thread running meanwhile merely has its cycles
collected later; whoever turned the collector off turns it back on, and a collector that
was off before (someone else's pause, or the deployment's choice) is left off.
"""
import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# A full collection walks every tracked object of the process. In a gunicorn worker that
# is the loaded application (Django, DRF, every view and serializer, compiled queries):
# measured with bench/cycle.py at 32 clients, 1-2 full collections per worker in a 12 s
# phase, each a 110-270 ms pause of all four request threads - most of next's p99. Frozen
# objects are never walked again (gc.freeze); reference counting still frees them.


def freeze_loaded_application() -> None:
    """For gunicorn's post_worker_init: load every view now (the URL patterns import
    them), then freeze what the process holds."""
    from django.urls import get_resolver

    get_resolver().url_patterns
    gc.freeze()
