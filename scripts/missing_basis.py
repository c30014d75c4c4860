"""List versions without ``effective_basis`` and citations without ``kind`` in the given data files.

Usage: python scripts/missing_basis.py data/state_policies/NM.yaml [more files...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def _citations(node: object, where: str) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if "url" in node and "retrieved" in node and "kind" not in node:
            out.append(f"{where}: citation without kind: {node['url']}")
        for key, value in node.items():
            out += _citations(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _citations(value, f"{where}[{i}]")
    return out


def main(paths: list[str]) -> int:
    problems: list[str] = []
    for path in paths:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for key, rule in (doc.get("rules") or {}).items():
            for i, version in enumerate(rule.get("versions", [])):
                if "effective_basis" not in version:
                    problems.append(
                        f"{path}: rules.{key}.versions[{i}] ({version.get('effective')}): no effective_basis"
                    )
        problems += _citations(doc, path)
    print("\n".join(problems) or "all versions have a basis and all citations a kind")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
