"""WeCom's callback URL: GET verification, POST events. (A store's join way
and ledger are served by groups/routes.py: PUT/GET /stores/{id}/wecom.)

The callback has no bearer token: the signature is the authentication.
Answers: 200 `success` (text/plain) once an event is applied or was already
applied; 403 `bad_signature` for a forged or altered request, 400
`bad_callback` for malformed bodies, both in the error envelope and both
ignored (nothing written). A WeCom failure while applying an event is a 503
`try_again`, so WeCom redelivers it later (it retries 3 times)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pynamodb.exceptions import PutError

from chalicelib import edge, logs, retry, txn
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.edge import error_response
from chalicelib.errors import Forbidden, InternalError, StoreloopError, Unavailable, ValidationFailed
from chalicelib.groups import join_ways, ledger
from chalicelib.settings import get_settings
from chalicelib.web import ROUTES, RouteSpec
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComError, WeComOff
from chalicelib.wecom.events import BadCallback, encrypted_field, parse_event
from chalicelib.wecom.models import CallbackSeen

if TYPE_CHECKING:
    from chalicelib.wecom.crypto import CallbackCrypto

log = logs.get_logger("wecom.callback")
bp = Blueprint(__name__)

SEEN_FOR = timedelta(days=3)
_CALLBACK_TYPES = ["text/xml", "application/xml", "text/plain", "application/json", "application/octet-stream"]


class BadSignature(Forbidden):
    code, default_message = "bad_signature", "the callback signature does not match"


class BadCallbackBody(ValidationFailed):
    code, default_message = "bad_callback", "not a WeCom callback"


def _crypto() -> CallbackCrypto:
    from chalicelib.wecom.crypto import CallbackCrypto  # `cryptography` loads only when a callback comes

    settings = get_settings()
    if settings.wecom == "off":
        raise WeComOff()
    return CallbackCrypto(settings.wecom_callback_token, settings.wecom_aes_key, settings.wecom_corp_id)


def _params(query: dict[str, str] | None, *names: str) -> list[str]:
    values = []
    for name in names:
        value = (query or {}).get(name, "")
        if not value or len(value) > 4096:
            raise BadCallbackBody.field(name, "required")
        values.append(value)
    return values


def _verify_url(query: dict[str, str] | None) -> Response:
    from chalicelib.wecom.crypto import CryptoError

    signature, timestamp, nonce, echostr = _params(query, "msg_signature", "timestamp", "nonce", "echostr")
    try:
        plain = _crypto().open(signature, timestamp, nonce, echostr)
    except CryptoError as exc:
        raise (BadSignature() if exc.code == "bad_signature" else BadCallbackBody(f"echostr: {exc.code}")) from None
    # WeCom wants the echostr plaintext back as is: no quotes, no BOM, no newline
    return Response(body=plain.decode("utf-8", errors="replace"), status_code=200,
                     headers={"Content-Type": "text/plain; charset=utf-8"})


def _receive(query: dict[str, str] | None, body: bytes) -> Response:
    from chalicelib.wecom.crypto import CryptoError

    signature, timestamp, nonce = _params(query, "msg_signature", "timestamp", "nonce")
    try:
        encrypted = encrypted_field(body)
        plain = _crypto().open(signature, timestamp, nonce, encrypted)
        event = parse_event(plain)
    except CryptoError as exc:
        raise (BadSignature() if exc.code == "bad_signature" else BadCallbackBody(f"payload: {exc.code}")) from None
    except BadCallback as exc:
        raise BadCallbackBody(f"body: {exc.code}") from None
    if _seen(event.event_id):
        return _success()
    now = get_clock().now()
    client = WeComClient(get_settings())
    try:
        outcome, chat = ledger.apply(client, event, now)
        store_id = join_ways.needs_refresh(chat)
        if store_id is not None:
            join_ways.refresh(client, store_id, now)
    except WeComError as exc:  # WeCom will redeliver; nothing was marked seen
        log.warning("callback not applied", extra={"fields": {"code": exc.code, "chat_id": event.chat_id}})
        raise Unavailable("WeCom could not be read; deliver again later", retry_after_s=5) from None
    _mark_seen(event.event_id, now)
    log.info("callback applied", extra={"fields": {"outcome": outcome, "change": event.change_type,
                                                   "chat_id": event.chat_id}})
    return _success()


def _seen(event_id: str) -> bool:
    return CallbackSeen.count(event_id, consistent_read=True, limit=1) > 0


def _mark_seen(event_id: str, now: Any) -> None:
    try:
        CallbackSeen(event_id, expires=now + SEEN_FOR).save(condition=CallbackSeen.event_id.does_not_exist())
    except PutError as exc:
        if not txn.is_condition_failure(exc):
            raise


def _success() -> Response:
    return Response(body="success", status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"})


_CALLBACK_ERRORS = (BadCallbackBody, BadSignature, WeComOff)
ROUTES.append(RouteSpec(
    "GET", "/wecom/callback", "WeCom callback URL verification (echostr)", None, None, None, None, 200,
    _CALLBACK_ERRORS, operation_id="verifyWecomCallback", tag="wecom",
    description="WeCom checks the callback URL: answers the decrypted `echostr` as text/plain. "
                "No bearer token: the signature (`msg_signature`) is the authentication."))
ROUTES.append(RouteSpec(
    "POST", "/wecom/callback", "WeCom callback events (signed, encrypted)", None, None, None, None, 200,
    _CALLBACK_ERRORS, operation_id="receiveWecomCallback", tag="wecom",
    description="`change_external_chat` events (create, update, dismiss) keep the group ledger: text/plain "
                "`success` when applied or already applied. Forged or altered: 403 `bad_signature`; not a "
                "callback: 400 `bad_callback`; nothing is written for either. The body is WeCom's XML."))


@bp.route("/wecom/callback", methods=["GET", "POST"], content_types=_CALLBACK_TYPES)
def wecom_callback() -> Response:
    request = edge.current_request()
    request_id = logs.request_id() or str((request.context or {}).get("requestId") or uuid.uuid4())
    operation = "verifyWecomCallback" if request.method == "GET" else "receiveWecomCallback"
    logs.bind(request_id=request_id, route=f"{request.method} /wecom/callback", operation=operation)
    try:
        ensure_bound()
        with retry.budget(retry.REQUEST_BUDGET_S):
            query = dict(request.query_params or {})
            if request.method == "GET":
                response = _verify_url(query)
            else:
                raw = request.raw_body or b""
                response = _receive(query, raw.encode() if isinstance(raw, str) else raw)
        response.headers["x-request-id"] = request_id
        return response
    except StoreloopError as err:
        logs.bind(code=err.code)
        return error_response(err, request_id)
    except Exception:  # noqa: BLE001 - never a stack trace to WeCom
        log.exception("callback failed")
        logs.bind(code=InternalError.code)
        return error_response(InternalError(), request_id)
