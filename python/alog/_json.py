"""JSON text of Python values, always valid JSON: JSON has no NaN or infinities, so non-finite
floats are written as the engine writes its own float fields, the strings ``"NaN"``,
``"+Inf"`` and ``"-Inf"`` (Python's ``json`` would write the invalid tokens ``NaN`` and
``Infinity``)."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps(value, **kwargs)``, with non-finite floats as strings."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:  # a non-finite float somewhere (or a cycle, which raises again)
        return json.dumps(_finite(value), allow_nan=False, **kwargs)
