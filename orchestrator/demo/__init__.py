"""The live demo's control-plane side: what `make up` creates through the orchestrator's API.

``stack.json`` declares the demo (launch templates, Auto Scaling groups, the load balancer, its
target group, listener and rule, the scaling policy) as a list of AWS API calls in AWS's own
shapes; :mod:`orchestrator.demo.stack` applies it idempotently; :mod:`.environment` supplies
what the file leaves to the machine it runs on (the broker's URL for the chosen BACKEND,
credentials, the compose network's name).
"""

from __future__ import annotations

from pathlib import Path

STACK_FILE = Path(__file__).with_name("stack.json")
