"""Prometheus metrics of one app (own registry, so several apps can live in one test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Counts events in, replies out, failures, queue depth and handling latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter(
            "werkbot_events_in", "Inbound events stored", ["channel"], registry=self.registry
        )
        self.duplicates = Counter(
            "werkbot_events_duplicate", "Inbound events already stored", ["channel"],
            registry=self.registry,
        )
        self.replies_out = Counter(
            "werkbot_replies_out", "Replies accepted by a provider", ["channel"],
            registry=self.registry,
        )
        self.send_failures = Counter(
            "werkbot_send_failures", "Sends that failed", ["channel", "final"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "werkbot_events_throttled", "Events stored but not handled: sender flooding",
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "werkbot_handler_errors", "Events whose handling raised", registry=self.registry
        )
        self.queue_depth = Gauge(
            "werkbot_queue_depth", "Rows waiting", ["queue"], registry=self.registry
        )
        self.handling_seconds = Histogram(
            "werkbot_handling_seconds", "Time from storing an event to handling it",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
