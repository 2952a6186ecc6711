"""The SubscribeURL and UnsubscribeURL: plain GET requests on the orchestrator's address.

``GET /sns/?Action=ConfirmSubscription&TopicArn=…&Token=…`` confirms a pending subscription
and ``GET /sns/?Action=Unsubscribe&SubscriptionArn=…`` deletes one, answering with SNS's XML
(``ConfirmSubscriptionResponse``, ``UnsubscribeResponse``). As with SNS these links are not
signed with SigV4: the token (or, for Unsubscribe, the subscription ARN with its random id)
is the secret. ``GET /sns/SimpleNotificationService-<fingerprint>.pem`` is the certificate
that verifies the envelopes' signatures. Mount with
``create_app(context, [*sns_routes(context), …])``.
"""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orchestrator.api import ApiContext
from orchestrator.errors import AwsError
from orchestrator.sns import subscriptions
from orchestrator.sns.service import SnsService, shared
from orchestrator.sns.signing import CERT_PATH_PREFIX, signer_for

NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"


def _xml(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="text/xml")


def _error(error: AwsError) -> Response:
    kind = "Sender" if error.sender_fault else "Receiver"
    return _xml(
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>",
        error.status,
    )


def routes(context: ApiContext, service: SnsService | None = None) -> list[Route]:
    """The ``/sns/`` route; ``service`` defaults to the API's shared one."""

    def handle(action: str | None, query: dict[str, str]) -> Response:
        sns = service or shared(context.store_path, context.environ)
        request_id = uuid.uuid4()
        if action == "ConfirmSubscription":
            arn = subscriptions.confirm(sns, query.get("TopicArn"), query.get("Token"))
            return _xml(
                f'<ConfirmSubscriptionResponse xmlns="{NAMESPACE}"><ConfirmSubscriptionResult>'
                f"<SubscriptionArn>{escape(arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
                f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
                "</ConfirmSubscriptionResponse>"
            )
        if action == "Unsubscribe":
            subscriptions.unsubscribe(sns, query.get("SubscriptionArn"))
            return _xml(
                f'<UnsubscribeResponse xmlns="{NAMESPACE}"><ResponseMetadata>'
                f"<RequestId>{request_id}</RequestId></ResponseMetadata></UnsubscribeResponse>"
            )
        raise AwsError("InvalidAction", f"The action {action} is not valid for this link.")

    async def endpoint(request: Request) -> Response:
        query = dict(request.query_params)
        try:
            return await run_in_threadpool(handle, query.get("Action"), query)
        except AwsError as error:
            return _error(error)

    async def certificate(request: Request) -> Response:
        """The certificate ``SigningCertURL`` names (unsigned, as AWS serves its own)."""
        signer = await run_in_threadpool(signer_for, context.store_path)
        if request.path_params["name"] != signer.certificate_name:
            return Response("no such certificate", status_code=404, media_type="text/plain")
        return Response(signer.certificate_pem, media_type="application/x-pem-file")

    return [
        Route("/sns/", endpoint, methods=["GET"], name="sns-links"),
        Route(
            CERT_PATH_PREFIX + "{name}.pem", certificate, methods=["GET"], name="sns-certificate"
        ),
    ]
