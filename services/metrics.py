"""Prometheus metrics every service exposes at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Accepted → ready spans seconds to minutes (brewing, queueing under load).
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300)

ORDERS_ACCEPTED = Counter("barista_orders_accepted_total", "Orders confirmed by the broker")
ORDERS_REJECTED = Counter(
    "barista_orders_rejected_total", "Orders refused by order-api", ["reason"]
)
ORDERS_PROCESSED = Counter("barista_orders_processed_total", "Orders brewed and acked")
ORDERS_FAILED = Counter(
    "barista_orders_failed_total", "Orders a barista could not brew", ["outcome"]
)
DUPLICATES_SKIPPED = Counter(
    "barista_duplicate_deliveries_total", "Redelivered orders already brewed (acked, not rebrewed)"
)
ORDER_LATENCY = Histogram(
    "barista_order_latency_seconds",
    "From order accepted to order ready",
    buckets=LATENCY_BUCKETS,
)
EVENTS_RECEIVED = Counter(
    "barista_events_received_total", "Order events a subscriber received", ["subscription", "kind"]
)
LOADGEN_REQUESTS = Counter(
    "barista_loadgen_requests_total", "Orders the load generator posted", ["result"]
)
