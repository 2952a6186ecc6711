"""Elastic Load Balancing v2 on HAProxy: ALBs and NLBs, target groups, health and draining.

HAProxy is the data plane; this package is the control plane and never proxies traffic.
``model`` holds AWS's vocabulary, ``state`` the desired state, ``haproxy_config`` renders it,
``haproxy_runtime`` talks to a running HAProxy, and ``controller`` closes the gap between them.
"""
