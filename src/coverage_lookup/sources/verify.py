"""``coverage-lookup verify RULE_ID``: a curator who has re-read a rule's sources stamps it.

The stamp rewrites one scalar — ``last_verified`` of the rule's current version — in place, so
comments, key order and layout of the hand-edited file stay as they were. The edit is atomic, and the
dataset is re-validated afterwards; if validation fails the file is restored.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from ..dataset import load_dataset
from ..errors import DataError, InputError
from ..evidence import version_on
from .store import atomic_write


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def stamp(
    data_dir: Path, rule_id: str, on: date | None = None, today: date | None = None
) -> tuple[Path, date, date]:
    """Set ``last_verified`` of the rule's version in effect ``today`` to ``on`` (default today).

    Returns (file, version effective date, previous last_verified)."""
    today = today or date.today()
    on = on or today
    if on > today:
        raise InputError(
            "date", on.isoformat(), f"a verification date cannot be after today ({today.isoformat()})"
        )
    ds = load_dataset(data_dir, today=today, use_cache=False)
    loaded = ds.rules.get(rule_id)
    if loaded is None:
        import difflib

        close = difflib.get_close_matches(rule_id, list(ds.rules), n=3)
        raise InputError(
            "rule",
            rule_id,
            "give a rule id as listed by `coverage-lookup rules`",
            ("did you mean " + ", ".join(close) + "?") if close else None,
        )
    current = version_on(loaded.rule, today) or loaded.rule.versions[-1]
    index = loaded.rule.versions.index(current)
    path = data_dir / loaded.file
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    key = rule_id.split(".", 1)[1]
    rule_node = _child(_child(root, "rules"), key)
    versions = _child(rule_node, "versions") if rule_node is not None else None
    if not isinstance(versions, yaml.SequenceNode) or index >= len(versions.value):
        raise DataError([f"{loaded.file}: rules.{key}.versions: not found where expected — edit it by hand"])
    scalar = _child(versions.value[index], "last_verified")
    if not isinstance(scalar, yaml.ScalarNode):
        raise DataError([f"{loaded.file}: rules.{key}.versions[{index}].last_verified: not found"])
    start, end = scalar.start_mark.index, scalar.end_mark.index
    new_text = text[:start] + on.isoformat() + text[end:]
    atomic_write(path, new_text.encode("utf-8"))
    try:
        load_dataset(data_dir, today=today, use_cache=False)
    except DataError:
        atomic_write(path, text.encode("utf-8"))
        raise
    return path, current.effective, current.last_verified
