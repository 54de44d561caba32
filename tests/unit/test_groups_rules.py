"""Pure parts of groups: what a cancelled join means, backoff, ids, webhook
URLs and the join body."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.groups import outcome as oc
from chalicelib.groups.ids import group_id, parse_group_id
from chalicelib.groups.schemas import GroupPatch, JoinIn
from chalicelib.groups.webhook import check_webhook_url


@pytest.mark.parametrize("failed,expected", [
    ({oc.STORE, oc.GROUP}, oc.Outcome.STORE_CLOSED),
    ({oc.MEMBERSHIP}, oc.Outcome.MEMBERSHIP_CHANGED),
    ({oc.MEMBERSHIP, oc.OLD_GROUP}, oc.Outcome.MEMBERSHIP_CHANGED),
    ({oc.POINTER, oc.GROUP}, oc.Outcome.SEQ_MOVED),
    ({oc.POINTER}, oc.Outcome.SEQ_MOVED),
    ({oc.GROUP}, oc.Outcome.GROUP_FULL),
])
def test_a_refused_join_is_classified_by_its_most_telling_guard(failed: set[str], expected: oc.Outcome) -> None:
    assert oc.classify(failed) is expected


def test_old_counts_going_negative_with_the_membership_intact_is_not_retried() -> None:
    assert oc.classify({oc.OLD_GROUP}) is None
    assert oc.classify({oc.MEMBER}) is None


@pytest.mark.parametrize("store_id,seq", [("s1", 1), ("29329", 12), ("cn.sh.001", 3), ("a:b-c_d", 500)])
def test_group_ids_round_trip_even_when_store_ids_contain_dots(store_id: str, seq: int) -> None:
    assert group_id(store_id, seq) == f"{store_id}.{seq}"
    assert parse_group_id(group_id(store_id, seq)) == (store_id, seq)


@pytest.mark.parametrize("value", ["s1", "s1.", ".1", "s1.x", "s1.01", "s1.-1", "s1.0"])
def test_malformed_group_ids_are_rejected(value: str) -> None:
    assert parse_group_id(value) is None


HOSTS = ("qyapi.weixin.qq.com", "http://127.0.0.1:8790")


@pytest.mark.parametrize("url", [
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
    "https://QYAPI.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    "http://127.0.0.1:8790/cgi-bin/webhook/send?key=abc",  # spelled out as an http origin in the list
])
def test_robot_webhooks_on_allowed_hosts_are_accepted(url: str) -> None:
    assert check_webhook_url(url, HOSTS) == url


@pytest.mark.parametrize("url,problem", [
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a", "robot webhook"),  # http needs an explicit entry
    ("https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("https://127.0.0.1:8790/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("http://127.0.0.1:8791/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("http://127.0.0.1/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("ftp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("https://[::1]/x", "robot webhook"),
    ("https://169.254.169.254/latest", "robot webhook"),
    ("https://localhost/x", "robot webhook"),
    ("https://hooks.example.com/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("https://qyapi.weixin.qq.com.evil.com/cgi-bin/webhook/send?key=a", "robot webhook"),
    ("https://qyapi.weixin.qq.com@evil.com/cgi-bin/webhook/send?key=a", "credentials"),
    ("https://u:p@qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a", "credentials"),
    ("https://qyapi.weixin.qq.com:99999/x", "valid URL"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a b", "whitespace"),
    ("https://qyapi.weixin.qq.com\\@evil.com/cgi-bin/webhook/send?key=a", "backslash"),
    ("https://qyapi.weixin.qq.com/" + "k" * 2100, "2048"),
    ("https://qyapi.weixin.qq.com/cgi-bin/other?key=a", "robot path"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send/../../x?key=a", "robot path"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", "robot key"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a&url=http://x", "robot key"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a#frag", "robot path"),
    ("not a url", "whitespace"),
    ("qyapi.weixin.qq.com/x", "robot webhook"),
])
def test_unsafe_or_malformed_webhooks_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_webhook_url(url, HOSTS)


def test_the_default_allow_list_is_wecom_over_https_only() -> None:
    assert check_webhook_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", ["qyapi.weixin.qq.com"])
    with pytest.raises(ValueError):
        check_webhook_url("http://127.0.0.1:8790/cgi-bin/webhook/send?key=k", ["qyapi.weixin.qq.com", "127.0.0.1"])


def test_a_join_names_a_store_one_way_only() -> None:
    assert JoinIn.model_validate({"store_id": "s1"}).store_id == "s1"
    point = JoinIn.model_validate({"lat": 31.2, "lng": 121.4})
    assert (point.lat, point.lng, point.coord) == (31.2, 121.4, "wgs84")
    for bad in ({}, {"lat": 31.2}, {"lng": 121.4}, {"store_id": "s1", "lat": 31.2, "lng": 121.4},
                {"store_id": "s1", "lng": 121.4}, {"lat": 31.2, "lng": 121.4, "coord": "bd09"}):
        with pytest.raises(ValidationError):
            JoinIn.model_validate(bad)


def test_a_group_patch_needs_a_field_and_keeps_explicit_nulls() -> None:
    with pytest.raises(ValidationError):
        GroupPatch.model_validate({})
    patch = GroupPatch.model_validate({"webhook_url": None})
    assert patch.model_fields_set == {"webhook_url"} and patch.webhook_url is None
