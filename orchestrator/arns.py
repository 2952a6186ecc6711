"""The one account and Region every Barista resource lives in, and ARNs in AWS's format.

A Barista is one AWS account in one Region, as a fresh LocalStack or moto is: the account id
is the twelve zeros AWS's own documentation uses for examples, the Region is ``us-east-1``
(what the AWS CLI and SDKs sign with, from the ``barista`` profile ``make up`` writes). Every
ARN is ``arn:aws:<service>:<region>:<account>:<resource>``; IAM's have no Region.
"""

from __future__ import annotations

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"


def arn(service: str, resource: str, *, region: str = REGION) -> str:
    """``resource``'s ARN in ``service`` (``region=""`` for global services such as IAM)."""
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{resource}"
