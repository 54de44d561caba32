"""Body splitting (UTF-8 bytes, Chinese text) and robot pacing: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.delivery.pacing import ROBOT_LIMIT, next_send_at, prune
from chalicelib.delivery.split import TRIM_MARK, split_body, utf8_len

T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def test_a_short_body_is_one_message() -> None:
    assert split_body("午间闪券开抢") == ["午间闪券开抢"]


def test_long_chinese_text_splits_on_line_breaks_under_the_byte_limit() -> None:
    lines = [f"· 第{i}号优惠 拿铁咖啡立减五元" for i in range(200)]
    parts = split_body("\n".join(lines))
    assert all(utf8_len(p) <= 2048 for p in parts)
    assert "\n".join(parts) == "\n".join(lines)
    assert all(not p.startswith("\n") and not p.endswith("\n") for p in parts)


def test_a_line_longer_than_the_limit_is_cut_between_characters() -> None:
    text = "咖" * 1000  # 3,000 bytes, no line breaks
    parts = split_body(text)
    assert [utf8_len(p) for p in parts] == [2046, 954]  # 682 characters fit in 2,048 bytes
    assert "".join(parts) == text


def test_past_max_parts_the_body_is_trimmed_and_marked() -> None:
    parts = split_body("字" * 10000, max_parts=2)
    assert len(parts) == 2 and parts[-1].endswith(TRIM_MARK) and utf8_len(parts[-1]) <= 2048


@given(st.text(alphabet=st.sampled_from(["a", "字", "\n", "😀", "é"]), max_size=3000),
       st.integers(min_value=8, max_value=300))
def test_every_part_fits_and_nothing_is_lost_unless_trimmed(text: str, limit: int) -> None:
    parts = split_body(text, limit=limit, max_parts=1000)
    assert all(utf8_len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_twenty_sends_a_minute_then_wait_for_the_oldest_to_age_out() -> None:
    sent = [T0 + timedelta(seconds=i) for i in range(ROBOT_LIMIT)]
    now = T0 + timedelta(seconds=30)
    assert next_send_at(sent[:-1], now) == now
    assert next_send_at(sent, now) == T0 + timedelta(seconds=60)
    assert next_send_at(sent, T0 + timedelta(seconds=60)) == T0 + timedelta(seconds=60)  # the first aged out
    assert prune(sent, T0 + timedelta(seconds=65)) == sent[6:]


@pytest.mark.parametrize("gap_s", [0, 1, 58])
def test_no_burst_across_a_minute_boundary(gap_s: int) -> None:
    sent = [T0 + timedelta(seconds=59, milliseconds=i) for i in range(ROBOT_LIMIT)]
    now = T0 + timedelta(seconds=60 + gap_s)
    assert next_send_at(sent, now) > now  # a fixed per-minute counter would allow 20 more here


def test_each_group_of_a_post_shows_its_channel_and_state() -> None:
    from chalicelib.delivery.report import group_deliveries

    groups = {"s1.1": ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", "wr1"), "s1.2": (None, "wr2"),
              "s1.3": (None, None)}
    out = group_deliveries(["s1.1", "s1.2", "s1.3", "s1.4"], {"s1.1#0", "s1.1#1"},
                           "s1.2: no robot: today's mass-send to this group is used", groups, "wecom", "live")
    assert [(d.group_id, d.channel, d.status) for d in out] == [
        ("s1.1", "robot", "sent"), ("s1.2", "mass_send", "failed"), ("s1.3", "none", "pending"),
        ("s1.4", "none", "pending")]
    assert out[1].reason == "no robot: today's mass-send to this group is used"
    assert out[2].reason is not None and "add a robot" in out[2].reason
    off = group_deliveries(["s1.2"], set(), None, groups, "wecom", "off")
    assert off[0].channel == "none"  # WeCom off: a bound chat without a robot cannot be reached
    assert group_deliveries(["s1.3"], {"s1.3#0"}, None, groups, "record", "off")[0].channel == "record"
