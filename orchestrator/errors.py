"""Errors shaped like AWS's, so API and CLI callers see the codes and messages they know.

AWS answers a bad request with an error *code* (``ValidationError``,
``InvalidLaunchTemplateName.NotFoundException``, …) and a human message; clients branch on the
code, people read the message. Keeping both on one typed exception lets the HTTP layer render
AWS's error shape without string matching.
"""

from __future__ import annotations


class AwsError(Exception):
    """A request AWS would refuse, with AWS's error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ValidationError(AwsError):
    """EC2 Auto Scaling's catch-all for a request whose parameters break its rules."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationError", message)
