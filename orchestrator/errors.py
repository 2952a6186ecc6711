"""Errors shaped like AWS's, so API and CLI callers see the codes and messages they know.

AWS answers a bad request with an error *code* (``ValidationError``,
``InvalidLaunchTemplateName.NotFoundException``, …) and a human message; clients branch on the
code, people read the message. Keeping both on one typed exception lets the HTTP layer render
AWS's error shape without string matching.
"""

from __future__ import annotations


class AwsError(Exception):
    """A request AWS would refuse, with AWS's error code and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    @property
    def sender_fault(self) -> bool:
        """4xx: the caller must change the request; 5xx: Barista's fault, and SDKs retry."""
        return self.status < 500


class ServiceUnavailable(AwsError):
    """A part Barista depends on (HAProxy, the broker) did not answer: 503, so SDKs retry."""

    def __init__(self, message: str) -> None:
        super().__init__("ServiceUnavailable", message, status=503)


class ValidationError(AwsError):
    """EC2 Auto Scaling's catch-all for a request whose parameters break its rules."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationError", message)
