"""The CLI reference page, generated from the argparse parser (:func:`coverage_lookup.cli.build_parser`).

Every command and sub-command, its usage line, description and every option with its default, choices
and help. Usage lines are formatted at a fixed width so that the page does not depend on the terminal.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

WIDTH = 96


def subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str | None, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` for each direct sub-command of ``parser``, in definition order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name), sub


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str | None, argparse.ArgumentParser]]:
    """Every command below ``parser``, depth first: ``(("plans", "import"), help, parser)``."""
    for name, help_, sub in subcommands(parser):
        yield (*path, name), help_, sub
        yield from walk(sub, (*path, name))


def _usage(parser: argparse.ArgumentParser) -> str:
    fmt = argparse.HelpFormatter(parser.prog, width=WIDTH, max_help_position=WIDTH)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return fmt.format_help().strip()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows: list[str] = []
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if a.option_strings:
            names = ", ".join(a.option_strings)
            takes = a.nargs != 0
            metavar = a.metavar if isinstance(a.metavar, str) else a.dest.upper()
            if takes:
                names += f" {metavar}" + (" ..." if a.nargs in ("+", "*") else "")
        else:
            names = a.metavar if isinstance(a.metavar, str) else a.dest
        notes: list[str] = []
        if a.required:
            notes.append("required")
        if not a.option_strings and a.nargs == "?":
            notes.append("optional")
        if isinstance(a, argparse._AppendAction):
            notes.append("repeatable")
        if a.choices is not None:
            notes.append("one of " + ", ".join(_code(str(c)) for c in a.choices))
        if (
            a.default is not None
            and a.default is not argparse.SUPPRESS
            and a.nargs != 0
            and not isinstance(a, argparse._AppendAction)
        ):
            notes.append(f"default {_code(str(a.default))}")
        help_ = a.help if a.help and a.help is not argparse.SUPPRESS else ""
        rows.append(f"| {_code(names)} | {_cell(help_)} | {_cell('; '.join(notes))} |")
    return rows


def render_cli(parser: argparse.ArgumentParser) -> str:
    out = [
        "# CLI reference",
        "",
        "Generated from the argparse parser (`coverage_lookup.cli.build_parser()`) by `scripts/gen_docs.py`",
        "— do not edit by hand; `make docs` fails when this page and the parser disagree. Every command also",
        "takes `-h`/`--help`. Exit status: 0 for any answer, 2 for bad input (one line on stderr naming the",
        "field, the value and what would be valid), 1 for a problem in the dataset. See",
        "[Using it](usage.md) for what an answer carries.",
        "",
        "```text",
        _usage(parser),
        "```",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    commands = list(walk(parser))
    for path, help_, _ in commands:
        name = " ".join(path)
        out.append(f"| [`{name}`](#{'-'.join(path)}) | {_cell(help_ or '')} |")
    out.append("")
    for path, help_, sub in commands:
        level = "#" * (1 + len(path))
        out += [f"{level} `coverage-lookup {' '.join(path)}` {{ #{'-'.join(path)} }}", ""]
        text = sub.description or help_
        if text:
            out += [text, ""]
        out += ["```text", _usage(sub), "```", ""]
        rows = _option_rows(sub)
        if rows:
            out += ["| argument | what it is | notes |", "|---|---|---|", *rows, ""]
        nested = [name for name, _, _ in subcommands(sub)]
        if nested:
            out += [
                "Sub-commands: " + ", ".join(f"[`{n}`](#{'-'.join((*path, n))})" for n in nested) + ".",
                "",
            ]
    return "\n".join(out)
