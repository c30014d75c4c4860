"""Boundaries pinned to the day, the visit and the byte: each test checks both sides of one edge.

* ICD-10-CM starts on 2015-10-01, and the tracked code changes take effect on their own dates;
* every version of every rule in data/ takes over on its effective date (the day before belongs to the
  previous version, or to none);
* remaining visits at, one past and far past every visit limit in data/;
* the fetcher's Retry-After cap and size cap, exactly at the limit and one over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from coverage_lookup import api
from coverage_lookup.dataset import Dataset, LoadedRule, load_dataset
from coverage_lookup.engine import LAYER_PLANS, NOT_APPLICABLE
from coverage_lookup.errors import InputError
from coverage_lookup.models import Provision, Version, VisitLimit
from coverage_lookup.records import Determination
from coverage_lookup.sources.fetch import Fetcher, FetchPolicy, parse_retry_after
from coverage_lookup.vocab import DRY_NEEDLING_CODES, PROVIDER_TYPES
from tests.conftest import DATA, TODAY
from tests.sources_support import allow_robots, http_server

DATASET = load_dataset(DATA, today=TODAY, use_cache=False)
DAY = timedelta(days=1)

# -- ICD-10-CM --------------------------------------------------------------------------------------


def medicare(diagnosis: str, on: date) -> Determination:
    return api.determine(
        coverage="medicare", diagnosis=diagnosis, provider="physician", service_date=on, today=TODAY
    )


def test_icd10_cm_starts_on_2015_10_01() -> None:
    with pytest.raises(InputError) as exc:
        medicare("M54.5", date(2015, 9, 30))
    assert exc.value.field == "diagnosis" and "2015-10-01" in str(exc.value)
    d = medicare("M54.5", date(2015, 10, 1))
    assert [(dx.code, dx.billable_on_date) for dx in d.diagnoses] == [("M54.5", True)]
    # Without a diagnosis code the day before is still answered (by condition).
    condition = api.determine(
        coverage="medicare", condition="chronic low back pain", service_date="2015-09-30", today=TODAY
    )
    assert condition.status == "not_covered"


def test_m54_5_billable_until_2021_09_30() -> None:
    d = medicare("M54.5", date(2021, 9, 30))
    assert d.diagnoses[0].billable_on_date is True and d.status == "covered"
    with pytest.raises(InputError) as exc:
        medicare("M54.5", date(2021, 10, 1))
    assert exc.value.field == "diagnosis"
    assert "category" in str(exc.value) and "M54.50" in str(exc.value)


def test_m54_50_before_it_took_effect_warns() -> None:
    took_effect = "M54.50 took effect 2021-10-01"
    before = medicare("M54.50", date(2021, 9, 30))
    assert any(w.startswith(took_effect) for w in before.warnings)
    assert before.status == "covered"  # answered for the condition the code names
    on = medicare("M54.50", date(2021, 10, 1))
    assert not any(took_effect in w for w in on.warnings)
    assert on.diagnoses[0].billable_on_date is True


CODE_EDGES = [
    (kind, code, change.effective)
    for change in DATASET.code_history
    for kind, listed in (("to_category", change.to_category), ("added", change.added))
    for code in listed
]


@pytest.mark.parametrize(
    ("kind", "code", "effective"), CODE_EDGES, ids=[f"{c[1]}@{c[2]}" for c in CODE_EDGES]
)
def test_every_tracked_code_change_takes_effect_on_its_date(kind: str, code: str, effective: date) -> None:
    warning = f"{code} took effect {effective.isoformat()}"
    before, on = effective - DAY, effective
    if kind == "to_category":  # billable up to the day before, a category (refused) from the day
        assert medicare(code, before).diagnoses[0].billable_on_date is True
        with pytest.raises(InputError) as exc:
            medicare(code, on)
        assert exc.value.field == "diagnosis" and f"not a billable code on {on.isoformat()}" in str(exc.value)
    else:  # accepted with a warning the day before, plainly from the day
        assert any(w.startswith(warning) for w in medicare(code, before).warnings)
        assert not any(warning in w for w in medicare(code, on).warnings)


# -- rule versions ----------------------------------------------------------------------------------


@pytest.fixture
def only_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Answer from a dataset holding one rule, so no other layer can outrank it and hide its version."""

    def use(lr: LoadedRule) -> None:
        alone: Dataset = dataclasses.replace(DATASET, rules={lr.id: lr}, _by_coverage=None)
        monkeypatch.setattr(api, "_datasets", {None: alone})

    yield use


def _may_bill(version: Version, prov: Provision) -> str:
    for provider in PROVIDER_TYPES:
        if all(
            any(p.type == provider and p.may_bill for p in listed)
            for listed in (version.providers, prov.providers)
            if listed is not None
        ):
            return provider
    return "licensed_acupuncturist"


def ask(lr: LoadedRule, version: Version, prov: Provision, on: date, **extra: Any) -> Determination:
    """A query that reaches ``prov`` of ``version`` of the rule on the date ``on``."""
    rule = lr.rule
    # A payer's name implies its state (BCBSMA -> MA), whose own layers are not loaded here: ask for a
    # self-funded plan where the rule reaches one, which only the plan and the payer govern.
    preferred = ["self_funded"] if lr.payer is not None and "self_funded" in rule.scope.coverage else []
    coverage = next(
        c
        for c in [*preferred, *rule.scope.coverage]
        if any(s.layer == rule.layer for s in LAYER_PLANS[c]) and (c, rule.layer) not in NOT_APPLICABLE
    )
    # A catch-all provision is reached by a condition no earlier provision of the version names.
    earlier = {c for p in version.provisions[: version.provisions.index(prov)] for c in p.conditions or []}
    condition = (
        prov.conditions[0]
        if prov.conditions
        else next(c for c in DATASET.conditions if c not in prov.excluding and c not in earlier)
    )
    procedures = [
        p
        for p in prov.procedures or rule.scope.procedures
        if on >= date(2020, 1, 1) or p not in DRY_NEEDLING_CODES
    ]
    age = 40
    if prov.age is not None:
        age = prov.age.min if prov.age.min is not None else (prov.age.max or 0)
    return api.determine(
        coverage=coverage,
        state=lr.state,
        payer=lr.payer,
        plan_id=rule.scope.plan_id,
        procedure=procedures[0],
        provider=_may_bill(version, prov),
        condition=condition,
        age=age,
        service_date=on,
        today=TODAY,
        **extra,
    )


def version_expected(lr: LoadedRule, on: date) -> Version | None:
    """The version in effect on ``on``: the last one started; before the first, the first only when its
    start is merely evidenced (extrapolated back); none before 2014 for an EHB benchmark."""
    versions = lr.rule.versions
    if lr.rule.layer == "ehb_benchmark" and on < date(2014, 1, 1):
        return None
    started = [v for v in versions if v.effective <= on]
    if started:
        return started[-1]
    return versions[0] if versions[0].effective_basis == "evidenced_from" else None


VERSION_EDGES = [(rid, i) for rid, lr in sorted(DATASET.rules.items()) for i in range(len(lr.rule.versions))]


@pytest.mark.parametrize(
    ("rule_id", "index"),
    VERSION_EDGES,
    ids=[f"{rid}@{DATASET.rules[rid].rule.versions[i].effective}" for rid, i in VERSION_EDGES],
)
def test_every_version_takes_over_on_its_effective_date(rule_id: str, index: int, only_rule: Any) -> None:
    lr = DATASET.rules[rule_id]
    only_rule(lr)
    effective = lr.rule.versions[index].effective
    seen: list[date | None] = []
    for on in (effective - DAY, effective):
        version = version_expected(lr, on)
        if version is None or version.retired:
            source = next(v for v in lr.rule.versions if v.provisions)
            d = ask(lr, source, source.provisions[0], on)
            assert rule_id not in [r.id for r in d.rules_applied], on
            assert [t.decision for t in d.trace if t.rule == rule_id] == ["skipped"], on
            seen.append(None)
            continue
        prov = next((p for p in version.provisions if p.outcome != "unknown"), version.provisions[0])
        d = ask(lr, version, prov, on)
        applied = [r.version_effective for r in d.rules_applied if r.id == rule_id]
        if lr.rule.layer == "payer_policy" and prov.outcome == "unknown":
            # A payer policy that establishes nothing is set aside, and the answer says what it lacks.
            assert applied == [], on
            assert prov.unknown is not None and any(prov.unknown.missing in m for m in d.missing), on
        else:
            assert applied == [version.effective], on
        seen.append(version.effective)
    # The day itself belongs to this version, unless it retires the rule.
    assert seen[1] == (None if lr.rule.versions[index].retired else effective)


# -- visit limits -----------------------------------------------------------------------------------

LIMITS = [
    (rid, vi, pi, li)
    for rid, lr in sorted(DATASET.rules.items())
    for vi, version in enumerate(lr.rule.versions)
    for pi, prov in enumerate(version.provisions)
    for li in range(len(prov.limits))
]


def _limit_id(rid: str, vi: int, pi: int, li: int) -> str:
    version = DATASET.rules[rid].rule.versions[vi]
    return f"{rid}@{version.effective}:{version.provisions[pi].id}[{li}]"


@pytest.mark.parametrize(("rule_id", "vi", "pi", "li"), LIMITS, ids=[_limit_id(*x) for x in LIMITS])
def test_remaining_visits_at_and_past_every_limit(
    rule_id: str, vi: int, pi: int, li: int, only_rule: Any
) -> None:
    lr = DATASET.rules[rule_id]
    only_rule(lr)
    version = lr.rule.versions[vi]
    prov = version.provisions[pi]
    lim: VisitLimit = prov.limits[li]
    extra = lim.extra_visits_with_improvement or 0
    total = lim.visits + extra

    def at(used: int) -> tuple[Determination, Any]:
        d = ask(lr, version, prov, version.effective, visits_used=used)
        (rule,) = (r for r in d.rules_applied if r.id == rule_id)
        assert (rule.version_effective, rule.provision) == (version.effective, prov.id)
        return d, rule

    fresh, base = at(0)
    shown = [x for x in fresh.limits if x.source == rule_id and x.visits == lim.visits]
    assert shown and shown[0].remaining == lim.visits
    for used in sorted(
        {lim.visits - 1, lim.visits, lim.visits + 1, total - 1, total, total + 1, total + 1000}
    ):
        if used < 0:
            continue
        d, rule = at(used)
        listed = [x for x in d.limits if x.source == rule_id and x.visits == lim.visits]
        assert listed or d.status not in ("covered", "conditional"), used  # a payable answer shows it
        for out in listed:
            assert out.remaining == max(lim.visits - used, 0), used  # 0 at and past the limit, never below
            if extra:
                assert out.remaining_with_improvement == max(total - used, 0), used
        if len(prov.limits) > 1 or base.outcome not in ("covered", "conditional"):
            continue  # several limits interact; a provision that does not cover has nothing to exhaust
        if used < lim.visits:
            assert rule.outcome == base.outcome, used
        elif used < total:
            assert rule.outcome == "conditional" and "documented improvement" in rule.reason, used
        elif lim.more_with is not None:
            assert rule.outcome == "conditional" and f"reaches the limit of {total}" in rule.reason, used
        else:
            assert rule.outcome == "not_covered" and "visit limit exhausted" in rule.reason, used


# -- the fetcher's caps -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server() -> Iterator[HTTPServer]:
    with http_server() as s:  # one loopback server for the module: stopping one takes half a second
        yield s


@pytest.fixture
def server(shared_server: HTTPServer) -> HTTPServer:
    shared_server.clear()
    allow_robots(shared_server)
    return shared_server


def test_retry_after_is_read_as_given() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("31") == 31.0
    assert parse_retry_after("0") == 0.0


@pytest.mark.parametrize(("header", "waited"), [("29", 29.0), ("30", 30.0), ("31", 30.0), ("86400", 30.0)])
def test_retry_after_cap_is_inclusive(server: HTTPServer, header: str, waited: float) -> None:
    server.expect_request("/busy").respond_with_handler(
        lambda _r: Response("busy", status=503, headers={"Retry-After": header})
    )
    sleeps: list[float] = []
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, max_attempts=2, retry_after_cap=30, deadline=600)
    fetcher = Fetcher(policy=policy, allowed_hosts=set(), sleep=sleeps.append)
    result = fetcher.fetch(server.url_for("/busy"), "html")
    assert result.outcome == "failed" and result.attempts == 2
    assert sleeps == [waited]


CAP = 1000


def _body(size: int) -> bytes:
    head, tail = b"<html><body>", b"</body></html>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [CAP - 1, CAP, CAP + 1])
def test_size_cap_is_inclusive(server: HTTPServer, declared: bool, size: int) -> None:
    body = _body(size)

    def handler(_request: Request) -> Response:
        if declared:
            return Response(body, content_type="text/html")
        pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
        return Response(iter(pieces), content_type="text/html")  # streamed: no Content-Length

    server.expect_request("/doc").respond_with_handler(handler)
    url = server.url_for("/doc")
    probe = requests.get(url, timeout=5)
    assert probe.content == body and ("Content-Length" in probe.headers) is declared
    policy = FetchPolicy(per_host_delay=0, read_timeout=1, max_bytes=CAP)
    result = Fetcher(policy=policy, allowed_hosts=set(), sleep=lambda _s: None).fetch(url, "html")
    if size <= CAP:
        assert result.outcome == "fetched", result.detail
        assert result.body == body
    else:
        assert result.outcome == "failed" and f"--max-bytes {CAP}" in result.detail
        assert result.body is None


def test_u_codes_are_icd10cm_codes() -> None:
    """U07.1 (COVID-19) and U09.9 (post-COVID condition) are billable ICD-10-CM codes."""
    from coverage_lookup import check

    d = check(
        coverage="medicare", diagnosis="U09.9", provider="physician", service_date="2024-03-01", today=TODAY
    )
    assert d.diagnoses[0].code == "U09.9" and d.diagnoses[0].billable_on_date
