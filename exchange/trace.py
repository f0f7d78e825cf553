"""How a journal event reads in a story: the few words ``hub trace`` and the console show for it."""

from __future__ import annotations


def event_text(event: dict) -> str:
    """The few words that say what an event did."""
    detail, kind = event["detail"], event["kind"]
    if kind == "RECEIVED":
        text = f"from {event['endpoint']} as {detail.get('name', '')}"
        resubmission = detail.get("resubmission")
        if resubmission:
            text += f", resubmitted by {resubmission['by']}: {resubmission['reason']}"
        return text
    if kind == "ROUTED":
        return "to " + ", ".join(d["endpoint"] + (f" via {d['map']}" if d.get("map") else "")
                                 for d in detail.get("destinations", []))
    if kind == "CONVERTED":
        params = detail.get("params")
        return f"{detail.get('map')} -> {detail.get('to')}" + (f" with {params}" if params else "")
    if kind in ("QUEUED", "ANSWER_QUEUED"):
        return f"for {event['endpoint']} ({detail.get('name', '')})"
    if kind in ("DELIVERED", "ANSWERED"):
        return f"to {event['endpoint']}"
    if kind == "CORRELATED":
        return f"answers {detail.get('type')} {detail.get('original')}"
    if kind == "RECEIPT":
        state = {"RECEIVED": "in time", "LATE": "late, after its alert",
                 "UNEXPECTED": "not awaited by its route"}.get(detail.get("state"), detail.get("state"))
        return f"{detail.get('type')} from {event['endpoint']}: {state}"
    if kind == "SCHEMA_DRIFT":
        fields = detail.get("fields", [])
        more = detail.get("more", 0)
        return "accepted with schema drift: " + "; ".join(
            f"{f['kind']} {f['path']} (first seen {f['first_seen'][:19].replace('T', ' ')}, {f['count']} document"
            f"{'s' if f['count'] != 1 else ''})" for f in fields[:5]) + (
            f"; and {len(fields) - 5 + more} more" if len(fields) > 5 or more else "")
    where = " ".join(x for x in (event["endpoint"], event["route"] and f"route={event['route']}") if x)
    return f"{where}  {event['reason']}".strip()
