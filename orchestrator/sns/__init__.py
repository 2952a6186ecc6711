"""Amazon SNS over ``broker_adapters``: each topic lives on one broker backend.

``model`` holds a topic's and a subscription's records; ``attributes`` validates their
attributes against AWS's rules and the backend's ``Features``; ``store`` keeps them in the
orchestrator's SQLite file; ``service`` shares the broker connections; ``topics``,
``subscriptions`` and ``publishing`` are the operations the API calls; ``messages`` maps SNS
messages to the broker wire format and back; ``filter_policy`` and ``retries`` are pure
(filter policies, delivery policies); ``envelope`` renders SNS's JSON envelope; ``delivery``
is the controller that pushes to HTTP/S endpoints and SQS queues; ``routes`` serves the
SubscribeURL and UnsubscribeURL. docs/sns.md says what is supported and where Barista
differs from AWS.
"""
