"""``acupuncture-coverage``: does my insurance cover acupuncture? Four questions in plain words, then an
answer a patient can read, with what to ask the insurer and where the answer comes from.

Works from a terminal or from piped answers (one per line). Flags answer the questions up front for
scripts (``--state CA --insurance medicaid --condition sciatica --json``). End of input (Ctrl-D) stops
cleanly with exit code 0. Nothing is logged, stored or sent anywhere: the answer is computed offline
from the rule data shipped with the package.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import date
from typing import IO, NoReturn, TypeVar

from .. import __version__
from ..errors import DataError, InputError
from ..vocabulary import read_date
from .answer import NOT_SURE_HELP, PlainAnswer, build_answer
from .plain import date_words
from .reading import (
    CONDITION_MENU,
    MENU,
    NOT_SURE,
    SOMETHING_ELSE,
    STATE_NAMES,
    Insurance,
    NotUnderstood,
    Question,
    condition_words,
    read_condition,
    read_insurance,
    read_state,
)

PROG = "acupuncture-coverage"
T = TypeVar("T")


class EndOfInput(Exception):
    """The person closed the input (Ctrl-D) before answering."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, out: IO[str], err: IO[str], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._out = out
        self._err = err

    def _print_message(self, message: str, file: object = None) -> None:
        if message:
            (self._err if file is sys.stderr else self._out).write(message)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message} (see {PROG} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._err.write(message)
        raise SystemExit(status)


def build_parser(out: IO[str], err: IO[str]) -> argparse.ArgumentParser:
    p = _Parser(
        out,
        err,
        prog=PROG,
        description="Does my insurance cover acupuncture? Answers four questions in plain words "
        "(state, kind of insurance, insurer, condition) and says what to ask your insurer. "
        "Any question given as an option is not asked.",
    )
    p.add_argument("--state", help="your state: a name or two letters (California, CA)")
    p.add_argument(
        "--insurance",
        help="kind of insurance: medicare, medicaid, job, myself (marketplace), va, tricare, "
        '"workers\' comp", "not sure", or a program name as on your card (Medi-Cal, MassHealth)',
    )
    p.add_argument("--insurer", help="your insurance company's name as on your card (may be empty)")
    p.add_argument(
        "--condition", help="what the acupuncture is for, in words: sciatica, 'low back pain', nausea"
    )
    p.add_argument("--date", help="date of the visit: 2026-12-06 or 12/6/2026 (default: today)")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object (plain answer and full details)"
    )
    p.add_argument("--version", action="store_true", help="print the version and exit")
    return p


def _width(width: int | None) -> int:
    if width is None:
        width = shutil.get_terminal_size((80, 24)).columns
    return max(40, min(width, 100))


def _join(items: Sequence[str], last: str = "or") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


class Session:
    """Asks the questions on one input and output, wrapped to the width."""

    def __init__(self, stdin: IO[str], out: IO[str], width: int) -> None:
        self.stdin = stdin
        self.out = out
        self.width = width
        try:
            self.echo = not stdin.isatty()
        except (AttributeError, ValueError):
            self.echo = True
        self.number = 0

    def say(self, text: str = "", indent: str = "", hang: str = "") -> None:
        if not text:
            self.out.write("\n")
            return
        self.out.write(
            textwrap.fill(text, self.width, initial_indent=indent, subsequent_indent=indent + hang) + "\n"
        )

    def read(self) -> str:
        self.out.write("> ")
        self.out.flush()
        line = self.stdin.readline()
        if line == "":
            self.out.write("\n")
            raise EndOfInput
        answer = line.rstrip("\r\n")
        if self.echo:
            self.out.write(answer + "\n")
        return answer

    def ask(
        self,
        question: str,
        reader: Callable[[str], T],
        *,
        menu: Sequence[str] = (),
        hint: str = "",
        empty: Callable[[], T] | None = None,
    ) -> T:
        self.number += 1
        self.say()
        self.say(f"{self.number}. {question}")
        for i, item in enumerate(menu, 1):
            self.say(f"{i}) {item}", indent="   ", hang="   ")
        if hint:
            self.say(hint, indent="   ")
        while True:
            answer = self.read()
            if not answer.strip() and empty is not None:
                return empty()
            try:
                return reader(answer)
            except NotUnderstood as exc:
                self.say(_sorry(exc, hint or "Please try again."))


def _sorry(exc: NotUnderstood, hint: str) -> str:
    if not exc.value.strip():
        return f"Please type an answer. {hint}"
    text = f'Sorry, I don\'t know "{exc.value.strip()}".'
    if exc.suggestions:
        text += f" Did you mean {_join([repr(s).replace(chr(39), chr(34)) for s in exc.suggestions])}?"
    return f"{text} {hint}"


STATE_HINT = "Type the state's name or its two letters, for example California or CA."
INSURANCE_HINT = "Type a number from the list, or the name on your card (for example Medi-Cal)."
INSURER_HINT = "For example Aetna or Blue Cross Blue Shield of Texas. Press Enter to skip."
CONDITION_HINT = (
    "Type a number from the list, or say it in your own words (for example sciatica or neck pain)."
)


def _ask_questions(args: argparse.Namespace, s: Session) -> Question:
    from ..api import get_dataset

    ds = get_dataset()
    state = read_state(args.state) if args.state is not None else None
    insurance = read_insurance(ds, args.insurance) if args.insurance is not None else None
    conditions = read_condition(ds, args.condition) if args.condition is not None else None
    asking = insurance is None or conditions is None or (insurance.needs_state and state is None)
    if asking:
        s.say("Acupuncture coverage: a few questions, then an answer. Press Ctrl-D at any time to stop.")
    if state is None and (insurance is None or insurance.needs_state):
        state = s.ask("Which state do you live in?", read_state, hint=STATE_HINT)
    if insurance is None:
        insurance = s.ask(
            "What kind of health insurance do you have?",
            lambda text: read_insurance(ds, text),
            menu=[label for label, _ in MENU],
            hint=INSURANCE_HINT,
        )
        if insurance.kind == NOT_SURE:
            for paragraph in NOT_SURE_HELP:
                s.say(paragraph, indent="   ")
            insurance = s.ask(
                "If you can check now, what kind of insurance is it?",
                lambda text: read_insurance(ds, text),
                hint="Type a number from the list above, or press Enter to see the general picture.",
                empty=lambda: Insurance(NOT_SURE),
            )
    insurer = args.insurer
    if insurer is None and asking and insurance.kind not in ("va", "tricare"):
        insurer = s.ask(
            "What is the name of your insurance company, as on your card?",
            lambda text: text.strip(),
            hint=INSURER_HINT,
            empty=lambda: "",
        )
    if conditions is None:
        conditions = s.ask(
            "What is the acupuncture for?",
            lambda text: read_condition(ds, text),
            menu=[label for label, _ in CONDITION_MENU],
            hint=CONDITION_HINT,
        )
    if len(conditions) > 1:
        options = list(conditions)

        def pick(text: str) -> tuple[str, ...]:
            value = text.strip().rstrip(".)")
            if value.isdigit() and 1 <= int(value) <= len(options):
                return (options[int(value) - 1],)
            found = read_condition(ds, text)
            if len(found) == 1 and found[0] in options:
                return found
            raise NotUnderstood(text, [condition_words(o, ds) for o in options])

        conditions = s.ask(
            "Which of these is it?",
            pick,
            menu=[condition_words(o, ds) for o in options],
            hint="Type a number from the list.",
        )
    condition = None if conditions[0] == SOMETHING_ELSE else conditions[0]
    state_for_answer = insurance.state or state
    notes: list[str] = []
    if insurance.program and insurance.state and state and insurance.state != state:
        where = STATE_NAMES[insurance.state]
        notes.append(f"{insurance.program} is {where}'s program, so the answer is for {where}.")
    return Question(
        state=state_for_answer,
        insurance=insurance,
        insurer=insurer or None,
        condition=condition,
        notes=notes,
    )


def render(a: PlainAnswer, s: Session) -> None:
    title = "Acupuncture" if a.condition == "your condition" else f"Acupuncture for {a.condition}"
    s.say()
    s.say(title)
    if a.general_picture:
        details = ["Kind of insurance not known yet" + (f", {a.state}" if a.state else "")]
    else:
        details = [a.insurance[0].upper() + a.insurance[1:] + (f" in {a.state}" if a.state else "")]
    if a.insurer:
        details.append(f"insurer: {a.insurer}")
    details.append(f"for a visit on {date_words(a.service_date)}")
    s.say(", ".join(details) + ".")
    s.say()
    s.say(f"Answer: {a.answer}")
    s.say()
    s.say(" ".join(a.reason))
    if a.who_can_give:
        s.say()
        s.say(f"Who can give it: {a.who_can_give}")
    if a.visit_limits:
        s.say()
        s.say("Visit limits:")
        for line in a.visit_limits:
            s.say(f"- {line}", indent="  ", hang="  ")
    if a.about_your_plan:
        s.say()
        s.say("About your insurance:" if a.general_picture else "About your plan:")
        for paragraph in a.about_your_plan:
            s.say(paragraph, indent="  ")
    if a.possibilities:
        s.say()
        s.say("The general picture:" if a.general_picture else "The answer for each possibility:")
        for p in a.possibilities:
            line = f"- {p.label}: {p.answer}." + (f" {p.reason}" if p.reason else "")
            s.say(line, indent="  ", hang="  ")
    if a.notes:
        s.say()
        s.say("Good to know:")
        for note in a.notes:
            s.say(f"- {note}", indent="  ", hang="  ")
    if a.ask_your_insurer:
        s.say()
        s.say(f"{a.ask_heading}:")
        for q in a.ask_your_insurer:
            s.say(f"[ ] {q}", indent="  ", hang="    ")
    s.say()
    s.say("Where this comes from:")
    if a.sources:
        s.say(_join(a.sources, "and") + ".", indent="  ")
    if a.reported_by:
        s.say("Also reported by: " + _join(a.reported_by, "and") + ".", indent="  ")
    if not a.sources and not a.reported_by:
        s.say("We found no published rule for this question.", indent="  ")
    dates: list[str] = []
    if a.checked_on:
        dates.append(f"Checked on {date_words(a.checked_on)}.")
    if a.rules_start_on:
        if a.start_known:
            dates.append(f"The rules we found start on {date_words(a.rules_start_on)}.")
        else:
            dates.append(
                f"The rules we found start on {date_words(a.rules_start_on)} (or earlier: that is the first date "
                "we have evidence for)."
            )
        if a.rules_end_on:
            dates.append(f"They run until {date_words(a.rules_end_on)}.")
    if dates:
        s.say(" ".join(dates), indent="  ")
    for note in a.source_notes:
        s.say(note, indent="  ")
    s.say()
    s.say(a.disclaimer)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    today: date | None = None,
    width: int | None = None,
) -> int:
    """Run the command; returns the exit code (0 an answer or a clean stop, 2 bad options, 1 data problem)."""
    inp = stdin if stdin is not None else sys.stdin
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        args = build_parser(out, err).parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.version:
        out.write(f"{PROG} {__version__}\n")
        return 0
    day = today or date.today()
    s = Session(inp, err if args.json else out, _width(width))
    try:
        on = read_date(args.date, "date") if args.date else day
        question = _ask_questions(args, s)
        answer = build_answer(question, on, day)
        if args.json:
            out.write(json.dumps(answer.json(), indent=2, ensure_ascii=False) + "\n")
        else:
            render(answer, s)
        return 0
    except EndOfInput:
        s.say("Stopped before all questions were answered. Nothing was saved.")
        return 0
    except KeyboardInterrupt:
        s.say()
        s.say("Stopped. Nothing was saved.")
        return 130
    except NotUnderstood as exc:  # a value given as an option
        err.write(f"{PROG}: {_sorry(exc, 'See --help for what each option takes.')}\n")
        return 2
    except InputError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        err.write(
            f'{PROG}: the {exc.field.replace("_", " ")} "{exc.value}" is not valid: {exc.valid}{hint}\n'
        )
        return 2
    except DataError:
        err.write(f"{PROG}: the rule data could not be read; please reinstall or report it.\n")
        return 1
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never a traceback for a patient
        err.write(f"{PROG}: something went wrong ({type(exc).__name__}); no answer could be given.\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
