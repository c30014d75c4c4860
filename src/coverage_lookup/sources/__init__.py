"""Scrapers: re-fetch every source behind the dataset politely, detect real changes, report them.

Layout: :mod:`.registry` (which URLs back which rules), :mod:`.fetch` (the polite, bounded HTTP client),
:mod:`.normalize` (document → meaningful text), :mod:`.extractors` (structured facts from the sources
that matter most), :mod:`.store` (the local state directory: atomic writes, the refresh lock),
:mod:`.refresh` (orchestration and the change report) and :mod:`.verify` (stamping ``last_verified``).

Nothing here is imported by a coverage query; the refresh never writes to ``data/``.
"""
