"""POST /payments (admin, or a POS = staff of the paid store) and openid binding."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.errors import NotFound
from chalicelib.payments import service
from chalicelib.payments.errors import OpenIdBound, PaymentConflict, RefundConflict, RefundTooLarge
from chalicelib.payments.models import payer_of
from chalicelib.payments.schemas import OpenIdIn, OpenIdOut, PaymentIn, PaymentOut, RefundIn, RefundOut
from chalicelib.web import endpoint

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/payments", summary="Record a payment (idempotent by payment_id)",
          roles=("admin", "staff"), body=PaymentIn, response=PaymentOut, errors=(NotFound, PaymentConflict), pos=True)
def post_payment(principal: Principal, body: PaymentIn) -> PaymentOut:
    principal.require_store(body.store_id)
    payment, duplicate, tier = service.record_payment(body, get_clock().now())
    return PaymentOut(payment_id=payment.payment_id, member_id=payer_of(payment), store_id=payment.store_id,
                      amount_fen=int(payment.amount_fen), paid_at=payment.paid_at, duplicate=duplicate, tier=tier,
                      refunded_fen=int(payment.refunded_fen or 0))


@endpoint(bp, "POST", "/payments/{payment_id}/refund",
          summary="Refund a payment, in full (no amount) or in part; idempotent by refund_id",
          roles=("admin", "staff"), body=RefundIn, response=RefundOut,
          errors=(NotFound, RefundTooLarge, RefundConflict), pos=True)
def refund_payment(principal: Principal, payment_id: str, body: RefundIn) -> RefundOut:
    principal.require_store(service.get_payment(payment_id).store_id)
    payment, refund, duplicate, tier = service.refund(
        payment_id, body.amount_fen, body.refund_id, f"{principal.role}:{principal.sub}", get_clock().now())
    return RefundOut(payment_id=payment_id, refund_id=refund.refund_id, amount_fen=int(refund.amount_fen),
                     refunded_fen=int(payment.refunded_fen or 0), paid_fen=int(payment.amount_fen),
                     duplicate=duplicate, member_id=payer_of(payment), tier=tier)


@endpoint(bp, "PUT", "/payments/openids/{openid}", summary="Bind a WeChat openid to a member",
          roles=("admin",), body=OpenIdIn, response=OpenIdOut, errors=(NotFound, OpenIdBound))
def bind_openid(principal: Principal, openid: str, body: OpenIdIn) -> OpenIdOut:
    record = service.bind_openid(openid, body.member_id, get_clock().now())
    return OpenIdOut(openid=record.openid, member_id=record.member_id)
