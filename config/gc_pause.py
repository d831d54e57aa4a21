"""Pausing Python's cyclic garbage collector around bulk work.

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
