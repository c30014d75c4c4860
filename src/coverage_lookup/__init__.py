"""coverage_lookup: does this plan cover acupuncture for this condition, here, on this date — and says who?

>>> from coverage_lookup import check
>>> check(coverage="medicare", diagnosis="M54.50", provider="physician", service_date="2024-03-01").status
'covered'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import check
    from .errors import CoverageLookupError, DataError, InputError
    from .models import Determination, Query

__all__ = ["CoverageLookupError", "DataError", "Determination", "InputError", "Query", "__version__", "check"]

_LAZY = {
    "check": ("api", "check"),
    "Determination": ("models", "Determination"),
    "Query": ("models", "Query"),
    "CoverageLookupError": ("errors", "CoverageLookupError"),
    "DataError": ("errors", "DataError"),
    "InputError": ("errors", "InputError"),
}


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__") and n.endswith("__")})


def __getattr__(name: str) -> Any:
    # Imports on first use keep `import coverage_lookup` (and the CLI's cold start) cheap.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
