"""The local web page and JSON API (``coverage-lookup serve``); needs the ``web`` extra.

Importing this package costs nothing: FastAPI is imported with :mod:`.app`, when the app is made, so
the CLI can list ``serve`` without slowing down a cold ``check``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
