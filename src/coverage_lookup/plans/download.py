"""Download the CMS Marketplace PUF zips for a plan year with the scrapers' polite fetcher (robots.txt,
per-host delay, retries with Retry-After, size and time caps), written atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..sources.fetch import Fetcher, FetchPolicy
from ..sources.store import fsync_dir

PUF_BASE = "https://download.cms.gov/marketplace-puf"
PUF_FILES = {"benefits": "benefits-and-cost-sharing-puf.zip", "attributes": "plan-attributes-puf.zip"}
MAX_ZIP_BYTES = 1024 * 1024 * 1024  # a plan year's benefits zip is well under this


@dataclass
class Downloaded:
    kind: str
    url: str
    path: Path | None
    outcome: str
    detail: str
    size: int = 0


def puf_urls(year: int, base: str = PUF_BASE) -> dict[str, str]:
    return {kind: f"{base.rstrip('/')}/{year}/{name}" for kind, name in PUF_FILES.items()}


def download_year(
    year: int, dest: Path, base: str = PUF_BASE, policy: FetchPolicy | None = None
) -> list[Downloaded]:
    policy = policy or FetchPolicy(max_bytes=MAX_ZIP_BYTES, read_timeout=60.0)
    urls = puf_urls(year, base)
    hosts = {urlsplit(u).netloc for u in urls.values()} | {"www.cms.gov", "download.cms.gov"}
    fetcher = Fetcher(policy=policy, allowed_hosts=hosts)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, url in urls.items():
        result = fetcher.fetch(url, "zip")
        if result.outcome != "fetched" or result.body is None:
            out.append(Downloaded(kind, url, None, result.outcome, result.detail))
            continue
        target = dest / f"{year}-{PUF_FILES[kind]}"
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(result.body)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(target)
            fsync_dir(dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        out.append(Downloaded(kind, url, target, "fetched", f"{len(result.body)} bytes", len(result.body)))
    return out
