"""Prometheus text for /metrics, from the journal's counts and the running engine's own figures.

    hub_documents{endpoint,type,state}            documents journaled, by state
    hub_deliveries{source,destination,state}      deliveries, by state (PENDING is the backlog)
    hub_backlog{endpoint}                         deliveries waiting to be sent
    hub_receipts{endpoint,state}                  receipts awaited (WAITING) and overdue
    hub_endpoint_up{endpoint,node}                1 when the hub process last reported it reachable
    hub_delivery_seconds{endpoint}                histogram: queued -> delivered (the process serving it)
"""

from __future__ import annotations

import threading

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class DeliveryLatency:
    """Queued-to-delivered seconds per endpoint, recorded by the engine's thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._histograms: dict[str, list] = {}  # endpoint -> [bucket counts..., sum, count]

    def observe(self, endpoint: str, seconds: float) -> None:
        with self._lock:
            histogram = self._histograms.setdefault(endpoint, [0] * len(BUCKETS) + [0.0, 0])
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    histogram[index] += 1
            histogram[-2] += seconds
            histogram[-1] += 1

    def snapshot(self) -> dict[str, list]:
        with self._lock:
            return {endpoint: list(values) for endpoint, values in self._histograms.items()}


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(data: dict, latency: DeliveryLatency | None) -> str:
    lines = ["# HELP hub_documents Documents journaled, by receiving endpoint, type and state.",
             "# TYPE hub_documents gauge"]
    for row in data["counts"]:
        if row["scope"] == "document":
            lines.append(f'hub_documents{{endpoint="{_label(row["a"])}",type="{_label(row["b"])}",'
                         f'state="{row["state"]}"}} {row["n"]}')
    lines += ["# HELP hub_deliveries Deliveries, by source, destination and state.", "# TYPE hub_deliveries gauge"]
    backlog: dict[str, int] = {}
    for row in data["counts"]:
        if row["scope"] == "delivery":
            lines.append(f'hub_deliveries{{source="{_label(row["a"])}",destination="{_label(row["b"])}",'
                         f'state="{row["state"]}"}} {row["n"]}')
            if row["state"] == "PENDING":
                backlog[row["b"]] = backlog.get(row["b"], 0) + row["n"]
    lines += ["# HELP hub_backlog Deliveries waiting to be sent, by destination.", "# TYPE hub_backlog gauge"]
    lines += [f'hub_backlog{{endpoint="{_label(e)}"}} {n}' for e, n in sorted(backlog.items())]
    lines += ["# HELP hub_receipts Receipts awaited and overdue, by the endpoint that owes them.",
              "# TYPE hub_receipts gauge"]
    lines += [f'hub_receipts{{endpoint="{_label(r["endpoint"])}",state="{r["state"]}"}} {r["n"]}'
              for r in data["expectations"]]
    lines += ["# HELP hub_endpoint_up 1 when the reporting hub process last reached the endpoint.",
              "# TYPE hub_endpoint_up gauge"]
    lines += [f'hub_endpoint_up{{endpoint="{_label(r["endpoint"])}",node="{_label(r["node"])}"}} {int(r["up"])}'
              for r in data["endpoints"]]
    if latency is not None:
        lines += ["# HELP hub_delivery_seconds Seconds from queued to delivered.",
                  "# TYPE hub_delivery_seconds histogram"]
        for endpoint, values in sorted(latency.snapshot().items()):
            for bound, count in zip(BUCKETS, values):
                lines.append(f'hub_delivery_seconds_bucket{{endpoint="{_label(endpoint)}",le="{bound}"}} {count}')
            lines.append(f'hub_delivery_seconds_bucket{{endpoint="{_label(endpoint)}",le="+Inf"}} {values[-1]}')
            lines.append(f'hub_delivery_seconds_sum{{endpoint="{_label(endpoint)}"}} {values[-2]:.6f}')
            lines.append(f'hub_delivery_seconds_count{{endpoint="{_label(endpoint)}"}} {values[-1]}')
    return "\n".join(lines) + "\n"
