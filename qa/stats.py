"""Accuracy arithmetic kept in one place."""
import math

# One-sided ~80% confidence: strict enough that a lucky streak does not hide a bad
# worker, lenient enough that ten gold items at 90% do not look like failure.
LOWER_BOUND_Z = 0.84


def wilson_lower_bound(correct: int, seen: int, z: float = LOWER_BOUND_Z) -> float | None:
    if seen == 0:
        return None
    p = correct / seen
    z2 = z * z
    denominator = 1 + z2 / seen
    centre = p + z2 / (2 * seen)
    margin = z * math.sqrt(p * (1 - p) / seen + z2 / (4 * seen * seen))
    return max(0.0, (centre - margin) / denominator)
