"""Plain-language answers for patients: the ``acupuncture-coverage`` command (``patient.cli``).

It asks four questions in everyday words (state, kind of insurance, insurer, condition), answers from
the same engine and data as ``coverage-lookup``, and words the answer for a patient: no codes, no rule
ids, abbreviations explained, what to ask the insurer, and where the answer comes from.
"""

from __future__ import annotations
