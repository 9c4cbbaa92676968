"""What the demo prints at the end: what a marketer would look at, read through the API."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .demo_hooks import Hook
from .demo_online import Api, OnlineTraffic

GRADE_ORDER = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Aligned columns; the indexes in ``right`` are right-aligned (numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]  # fmt: skip

    def line(cells: Sequence[str]) -> str:
        return (
            "  "
            + "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )

    return [line(headers), *(line(r) for r in rows)]


def _spread(counts: Counter[str], order: Sequence[str]) -> str:
    keys = [k for k in order if counts[k]] + sorted(k for k in counts if k not in order)
    return ", ".join(f"{k} {counts[k]}" for k in keys) or "none"


#: attributes a marketer reads first, when the rules have them
_FIRST_ATTRIBUTES = ("lifetime_value", "orders", "email_engagement_90d", "store_visits")


def _attrs(profile: Mapping[str, Any], limit: int = 3) -> str:
    """The profile's grading attributes, explicit and derived, most telling first
    (unset and zero ones left out)."""
    found = {**(profile.get("derived_attributes") or {}), **(profile.get("attributes") or {})}
    found = {k: v for k, v in found.items() if v not in (None, 0, "", False)}
    keys = [k for k in _FIRST_ATTRIBUTES if k in found] + sorted(
        k for k in found if k not in _FIRST_ATTRIBUTES
    )

    def value(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)

    shown = [f"{k} {value(found[k])}" for k in keys[:limit]]
    more = len(keys) - limit
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "") if shown else "-"


def profiles_section(
    profiles: list[dict[str, Any]],
    details: Mapping[str, dict[str, Any]],
    seen: Mapping[str, str],
    top: int = 10,
) -> list[str]:
    """``details``: GET /api/v1/profiles/{id} of (at least) the top profiles; ``seen``:
    where each profile was met (kiosk, online, kiosk + online)."""
    consented = [p for p in profiles if p["grade"] is not None]
    grades = Counter(p["grade"] for p in consented)
    stages = Counter(p["lifecycle_stage"] or "(none)" for p in profiles)
    lines = [
        f"profiles: {len(profiles)} ({len(consented)} with profiling consent, "
        f"{len(profiles) - len(consented)} without: not scored)",
        f"  grades:          {_spread(grades, GRADE_ORDER)}",
        f"  lifecycle stage: {_spread(stages, ('sql', 'mql', '(none)'))}",
        "",
        f"top {min(top, len(consented))} profiles by score:",
    ]
    rows = [
        [p["id"], seen.get(p["id"], "-"), f"{p['score']:.1f}", p["grade"],
         p["lifecycle_stage"] or "-", p["funnel_stage"] or "-",
         _attrs(details.get(p["id"], {}))]
        for p in top_profiles(profiles, top)
    ]  # fmt: skip
    headers = ["PROFILE", "SEEN", "SCORE", "GRADE", "LIFECYCLE", "FUNNEL STAGE", "ATTRIBUTES"]
    return lines + table(headers, rows, {2})


def top_profiles(profiles: list[dict[str, Any]], top: int = 10) -> list[dict[str, Any]]:
    scored = [p for p in profiles if p["grade"] is not None]
    return sorted(scored, key=lambda p: (-p["score"], p["id"]))[:top]


def thresholds_text(rules_toml: str) -> str:
    """``mql (score ≥ 40, grade ≥ C)``, … for the active rules' thresholds."""
    out = []
    for t in tomllib.loads(rules_toml).get("thresholds", []):
        grade = f", grade ≥ {t['grade_at_least']}" if t.get("grade_at_least") else ""
        out.append(f"{t['id']} (score ≥ {t['score_at_least']}{grade})")
    return " and ".join(out) or "(the rules have no thresholds)"


def funnel_section(funnel: dict[str, Any]) -> list[str]:
    stages = funnel["stages"]
    rows = [
        [s["stage"], f"{s['profiles']:,}", f"{s['drop_off_from_previous']:,}",
         f"{100 * s['conversion_from_first']:.1f}%"]
        for s in stages
    ]  # fmt: skip
    dropped = sum(s["drop_off_from_previous"] for s in stages)
    last = stages[-1]["profiles"] if stages else 0
    lines = ["funnel (GET /api/v1/funnel):"]
    lines += table(["STAGE", "PROFILES", "DROP-OFF", "OF FIRST"], rows, {1, 2, 3})
    lines += [
        f"  {funnel['entered']:,} entered = {dropped:,} dropped off on the way "
        f"+ {last:,} at the last stage",
        f"  campaign QR codes scanned at the kiosks (anonymous): {funnel['campaign_scans']:,}",
    ]
    return lines


def webhooks_section(
    deliveries: list[dict[str, Any]], received: list[Hook], url: str, thresholds: str
) -> list[str]:
    lines = [f"webhooks fired (threshold.crossed → {url}):", f"  thresholds: {thresholds}"]
    if not deliveries:
        return [*lines, "  no profile has crossed a threshold yet: no webhook fired"]
    by_status = Counter(d["status"] for d in deliveries)
    by_threshold = Counter(d["payload"]["data"]["threshold_id"] for d in deliveries)
    good = sum(h.signature_ok for h in received)
    lines += [
        f"  {len(deliveries)} fired for {len({d['payload']['data']['profile_id'] for d in deliveries})}"
        f" profiles: {_spread(by_threshold, ('mql', 'sql'))}; "
        f"{_spread(by_status, ('delivered', 'pending', 'failed'))}; the receiver got "
        f"{len(received)} POSTs, {good} with a valid signature",
    ]
    rows = [
        [d["payload"]["data"]["profile_id"], d["payload"]["data"]["threshold_id"],
         f"{d['payload']['data']['score']:.1f}", d["payload"]["data"]["crossed_at"][:19], d["status"]]
        for d in sorted(deliveries, key=lambda d: d["payload"]["data"]["crossed_at"])[:10]
    ]  # fmt: skip
    lines += table(["PROFILE", "THRESHOLD", "SCORE", "CROSSED AT (UTC)", "DELIVERY"], rows, {2})
    if len(deliveries) > 10:
        lines.append(f"  … and {len(deliveries) - 10} more")
    return lines


def traffic_section(kiosk_events: int, devices: int, online: OnlineTraffic) -> list[str]:
    personas = ", ".join(f"{n} {p.replace('_', ' ')}s" for p, n in online.customers.items())
    return [
        f"traffic: {kiosk_events:,} kiosk events from {devices} devices; "
        f"{online.sent:,} online events in {online.requests} requests for "
        f"{sum(online.customers.values())} customers ({personas})",
        f"  {len(online.merged)} kiosk profiles merged with their shop customer record "
        "(POST /api/v1/profiles/merge); one request resent on purpose: "
        f"{online.duplicates} duplicates ignored",
    ]


def how_to_section(base: str, marketer_key: str, keep_running: bool) -> list[str]:
    curl = f"curl -s -H 'Authorization: Bearer {marketer_key}' '{base}/api/v1/profiles?limit=5'"
    lines = [
        "keep it running:  make demo DEMO_ARGS=--keep-running"
        "   (or: .venv/bin/omnikiosk demo --keep-running)",
        "then query the API with the marketer key this demo made"
        + ("" if keep_running else " (while the demo runs)")
        + ":",
        f"  {curl}",
        f"  curl -s -H 'Authorization: Bearer {marketer_key}' '{base}/api/v1/funnel'",
        f"  API description: {base}/docs",
    ]
    return lines


def marketer_report(
    marketer: Api,
    admin: Api,
    webhook_id: int,
    received: list[Hook],
    hook_url: str,
    seen: Mapping[str, str],
) -> str:
    profiles = marketer.all_pages("/api/v1/profiles")
    details = {
        p["id"]: marketer.call("GET", f"/api/v1/profiles/{p['id']}") for p in top_profiles(profiles)
    }
    funnel = marketer.call("GET", "/api/v1/funnel")
    rules = marketer.call("GET", "/api/v1/rules")
    deliveries = admin.all_pages(f"/api/v1/webhooks/{webhook_id}/deliveries")
    parts = [
        profiles_section(profiles, details, seen),
        funnel_section(funnel),
        webhooks_section(deliveries, received, hook_url, thresholds_text(rules["text"])),
    ]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"


def _age_text(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    if seconds < 120:
        return f"{seconds:.0f} s old"
    return f"{seconds / 60:.0f} min old" if seconds < 7200 else f"{seconds / 3600:.1f} h old"


def _stock_text(state: str, quantity: int | None) -> str:
    words = state.replace("_", " ")
    return words if quantity is None else f"{words}, {quantity}"


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def kiosk_section(reports: Sequence[Mapping[str, Any]], staff_id: str) -> list[str]:
    """What the simulated kiosks' own flows reported (``edge simulate --report``): the
    pickup desk at each, the second scan of a handed-over code, and the availability
    lookup, read from the device's copy of the store data."""
    lines = [f"pickup desk at the kiosks ({staff_id} unlocked with the PIN, scanned each code):"]
    for r in reports:
        lines.append(
            f"  {r['device_id']}: {_n(len(r.get('handed_over', [])), 'order')} handed over, "
            f"{_n(r.get('refused', 0), 'handover')} refused"
        )
    for r in reports:
        again = r.get("second_scan")
        if again:
            lines.append(
                f"  a second scan of {again['order_id']}'s code at {r['device_id']}: refused "
                f"({again['refusal']}): {again['message']}"
            )
            break
    found = next((r["lookup"] for r in reports if r.get("lookup")), None)
    if found is None:
        return lines
    device = next(r["device_id"] for r in reports if r.get("lookup"))
    sync = found.get("sync") or {}
    applied = sync.get("applied") or {}
    lines += [
        "",
        f"store data at the kiosk ({device}, through its availability API):",
        f"  version {sync.get('version')} (central's latest {sync.get('central_version')}): "
        f"{_n(applied.get('snapshot', 0), 'snapshot')} loaded, "
        f"{_n(applied.get('delta', 0), 'delta')} applied",
        f"  search {found['query']!r}: {_n(len(found['hits']), 'hit')}: "
        + ", ".join(f"{h['sku']} {h['name']} ({_stock_text(h['here'], h['quantity'])})"
                    for h in found["hits"][:3])
        + (" …" if len(found["hits"]) > 3 else ""),
    ]  # fmt: skip
    page = found.get("product")
    if page is None:
        return lines
    data = page["data"]
    lines.append(
        f"  {page['sku']} {page['name']} ({page['brand']}, {page['price']}): here "
        f"{_stock_text(page['here']['state'], page['here']['quantity'])}; data "
        f"{_age_text(data['age_s'])} (stock as of {data['stock_as_of'] or data['built_at']}, "
        f"last delta {data['delta_at'] or 'none'})"
    )
    rows = [
        [n["store_id"], n["name"], f"{n['distance_km']:.1f} km",
         _stock_text(n["state"], n["quantity"]), n["stock_as_of"] or "-"]
        for n in page["nearby"]
    ]  # fmt: skip
    if rows:
        lines.append("  nearby:")
        lines += ["  " + ln for ln in table(["STORE", "NAME", "DISTANCE", "STOCK", "AS OF"],
                                            rows, {2})]  # fmt: skip
    return lines
