"""WeCom routes: the callback URL (GET verification, POST events) and a
store's join way (staff/admin register seed groups, read the ledger).

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
from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import logs, retry, txn
from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.errors import Forbidden, InternalError, StoreloopError, Unavailable, ValidationFailed
from chalicelib.groups import join_ways, ledger
from chalicelib.groups.directory import store_groups
from chalicelib.groups.ids import group_id
from chalicelib.groups.models import StoreGroups
from chalicelib.settings import get_settings
from chalicelib.stores.service import get_store
from chalicelib.web import ROUTES, RouteSpec, endpoint, error_response
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComError, WeComOff
from chalicelib.wecom.events import BadCallback, encrypted_field, parse_event
from chalicelib.wecom.models import CallbackSeen
from chalicelib.wecom.schemas import Alert, ChatView, JoinWayIn, StoreWeComOut

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


ROUTES.append(RouteSpec("GET", "/wecom/callback", "WeCom callback URL verification (echostr)", None,
                        None, None, None, 200, (400, 403, 409)))
ROUTES.append(RouteSpec("POST", "/wecom/callback", "WeCom callback events (signed, encrypted)", None,
                        None, None, None, 200, (400, 403, 409, 503)))


@bp.route("/wecom/callback", methods=["GET", "POST"], content_types=_CALLBACK_TYPES)
def wecom_callback() -> Response:
    request = bp.current_request
    request_id = str((request.context or {}).get("requestId") or uuid.uuid4())
    logs.clear()
    logs.bind(request_id=request_id, route=f"{request.method} /wecom/callback")
    try:
        ensure_bound()
        with retry.budget(retry.REQUEST_BUDGET_S):
            query = dict(request.query_params or {})
            if request.method == "GET":
                return _verify_url(query)
            raw = request.raw_body or b""
            return _receive(query, raw.encode() if isinstance(raw, str) else raw)
    except StoreloopError as err:
        log.info("callback refused", extra={"fields": {"status": err.status, "code": err.code}})
        return error_response(err, request_id)
    except Exception:  # noqa: BLE001 - never a stack trace to WeCom
        log.exception("callback failed")
        return error_response(InternalError(), request_id)


# --- a store's join way and ledger ---------------------------------------------------------------


def _client() -> WeComClient:
    return WeComClient(get_settings())


def store_view(store_id: str) -> StoreWeComOut:
    way = ledger.join_way(store_id)
    robots = {int(g.seq): bool(g.webhook_url) for g in store_groups(store_id)}
    chats, alerts = [], []
    for chat in ledger.store_chats(store_id):
        seq = int(chat.seq) if chat.seq is not None else None
        gid = group_id(store_id, seq) if seq is not None else None
        has_robot = robots.get(seq, False) if seq is not None else False
        chats.append(ChatView(chat_id=chat.chat_id, group_id=gid, seq=seq, name=chat.name, origin=chat.origin,
                              status=chat.status, member_count=int(chat.member_count),
                              customer_count=int(chat.customer_count), via_join_way=int(chat.via_join_way),
                              has_robot=has_robot, updated_at=chat.updated_at))
        if chat.status == "active" and not has_robot:
            alerts.append(Alert(chat_id=chat.chat_id, group_id=gid, code="no_robot", message=(
                f"「{chat.name}」 has no group robot, so posts cannot reach it directly. In WeCom, open the group, "
                f"add a group robot, copy its webhook URL and save it with PUT /groups/{gid} (webhook_url).")))
    active = [c for c in chats if c.status == "active"]
    try:
        members = int(StoreGroups.get(store_id, consistent_read=True).member_count or 0)
    except DoesNotExist:
        members = 0
    return StoreWeComOut(store_id=store_id, state=way.state if way else None,
                         storeloop_member_count=members,
                         wecom_customer_count=sum(c.customer_count for c in active),
                         wecom_via_join_way=sum(c.via_join_way for c in active),
                         config_id=way.config_id if way else None, qr_code=way.qr_code if way else None,
                         seed_chat_ids=list(way.seed_chat_ids or []) if way else [],
                         join_way_chat_ids=list(way.chat_ids or []) if way else [], chats=chats, alerts=alerts)


@endpoint(bp, "PUT", "/stores/{store_id}/wecom", summary="Register the store's seed WeCom customer groups; "
          "Storeloop creates or updates the store's join way", roles=("staff", "admin"), body=JoinWayIn,
          response=StoreWeComOut, errors=(400, 401, 403, 404, 409, 502, 503))
def put_store_wecom(principal: Principal, store_id: str, body: JoinWayIn) -> StoreWeComOut:
    principal.require_store(store_id)
    store = get_store(store_id)
    if len(set(body.seed_chat_ids)) != len(body.seed_chat_ids):
        raise ValidationFailed.field("seed_chat_ids", "must not repeat a chat id")
    join_ways.register(_client(), store, body.seed_chat_ids, get_clock().now())
    return store_view(store_id)


@endpoint(bp, "GET", "/stores/{store_id}/wecom", summary="The store's join way, WeCom groups as the ledger "
          "knows them, and alerts for groups posts cannot reach", roles=("staff", "admin"),
          response=StoreWeComOut, errors=(400, 401, 403, 404))
def get_store_wecom(principal: Principal, store_id: str) -> StoreWeComOut:
    principal.require_store(store_id)
    get_store(store_id)
    return store_view(store_id)
