"""Prometheus metrics every service exposes at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
LOADGEN_DROPPED = Counter(
    "barista_loadgen_dropped_total",
    "Orders the load generator offered but did not send: every sender was busy",
)
LOADGEN_TARGET_RATE = Gauge(
    "barista_loadgen_target_rate", "Orders per second the load pattern asks for now"
)
ORDER_FOLLOW_UP_FAILURES = Counter(
    "barista_order_follow_up_failures_total",
    "Orders the broker confirmed whose order-placed event failed (still 202)",
    ["step"],
)
# order-api's answer time: a broker confirm is milliseconds; 503s wait up to broker_timeout.
ORDER_API_SECONDS = Histogram(
    "barista_order_api_request_seconds",
    "POST /orders, from request to answer",
    ["status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
