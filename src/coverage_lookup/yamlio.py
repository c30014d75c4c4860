"""YAML reading for the data files: duplicate keys are errors, and dates stay strings for pydantic.

Imported only when data files are actually parsed (not on a cached cold check).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import DataError

# ------------------------------------------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key]}, again on line {line}); "
                "merge the two entries or rename one",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings here so that pydantic reports a bad one against its key ("2020-13-01" would
# otherwise crash inside the YAML timestamp constructor without saying where).
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    return parse_yaml(path.read_bytes(), str(path))


def parse_yaml(data: bytes, name: str) -> Any:
    """Parse one data file's bytes strictly; ``name`` is how problems name the file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError([f"{name}: not UTF-8 text ({exc.reason}); save the file as UTF-8"]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise DataError([f"{name}: {' '.join(str(exc).split())}"]) from None


def locate(data: bytes, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """(line, column), 1-based, of the deepest node a pydantic error location reaches in the file.

    Only called when a file has errors, so it may re-read the file with the pure-Python composer."""
    try:
        node: Any = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    if node is None:
        return None
    mark = node.start_mark
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            mark, node = match[0].start_mark, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return mark.line + 1, mark.column + 1
