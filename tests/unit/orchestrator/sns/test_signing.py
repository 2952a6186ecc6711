"""Every envelope verifies as AWS's guide "Verifying the signatures of Amazon SNS messages"
says a subscriber must check one: the string to sign rebuilt here from the guide (not from
Barista's code), the certificate fetched from ``SigningCertURL``, RSA PKCS#1 v1.5 with SHA1
for SignatureVersion 1 and SHA256 for 2.

The published verifiers cannot be pointed at Barista: AWS's own (``sns-validator`` on npm)
insists on an https URL on an ``amazonaws.com`` host, and the Python one on PyPI pins
cryptography 2.6 and requests 2.21.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from orchestrator.sns.delivery import DeliveryController
from orchestrator.sns.signing import Signer, signer_for
from tests.support.aws_endpoint import Endpoint
from tests.support.receiving import wait_for
from tests.unit.orchestrator.sns.subscriber import Subscriber, http_subscriber


def guide_string_to_sign(message: dict[str, Any]) -> bytes:
    """The guide's recipe: the fields below, in this order, each as ``name\\nvalue\\n``;
    Subject only if the notification has one."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if "Subject" not in message:
            names.remove("Subject")
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{message[name]}\n" for name in names).encode()


def verify(message: dict[str, Any]) -> None:
    """Raises ``InvalidSignature`` unless the message is signed by its certificate's key."""
    with urllib.request.urlopen(message["SigningCertURL"], timeout=10) as answer:
        certificate = x509.load_pem_x509_certificate(answer.read())
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}[message["SignatureVersion"]]
    key.verify(
        base64.b64decode(message["Signature"]),
        guide_string_to_sign(message),
        padding.PKCS1v15(),
        algorithm,
    )


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with http_subscriber() as started:
        yield started


def _converge(controller: DeliveryController, condition: Any) -> bool:
    def passed() -> bool:
        controller.reconcile()
        return bool(condition())

    return wait_for(passed, timeout=10, interval=0.05)


@pytest.mark.parametrize("version", ["1", "2"])
def test_confirmations_and_notifications_verify_with_the_served_certificate(
    sns: Any, controller: DeliveryController, subscriber: Subscriber, version: str
) -> None:
    topic = sns.create_topic(Name="orders", Attributes={"SignatureVersion": version})["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
    assert _converge(controller, subscriber.confirmations)
    (confirmation,) = subscriber.confirmations()
    verify(confirmation.json)

    sns.publish(TopicArn=topic, Message="one flat white", Subject="order")
    sns.publish(TopicArn=topic, Message="no subject")
    assert _converge(controller, lambda: len(subscriber.notifications()) == 2)
    for post in subscriber.notifications():
        assert post.json["SignatureVersion"] == version
        verify(post.json)

    forged = subscriber.notifications()[0].json | {"Message": "two flat whites"}
    with pytest.raises(InvalidSignature):
        verify(forged)


def test_the_key_survives_a_restart_and_other_certificates_are_not_served(
    context: Any, endpoint: Endpoint, tmp_path: Path
) -> None:
    first = signer_for(context.store_path)
    assert signer_for(context.store_path).certificate_pem == first.certificate_pem
    assert (context.store_path.parent / "sns-signing.pem").stat().st_mode & 0o077 == 0

    url = first.certificate_url(endpoint.url)
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == first.certificate_pem
    other = Signer.load_or_create(tmp_path / "another-orchestrator")
    assert other.certificate_name != first.certificate_name
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(other.certificate_url(endpoint.url), timeout=10)
    assert missing.value.code == 404
