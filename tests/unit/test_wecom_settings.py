"""WeCom settings: modes, required values, secrets from SSM by name, the
webhook allow-list."""

from __future__ import annotations

import pytest

from chalicelib import settings as settings_module
from chalicelib.errors import ConfigError
from chalicelib.settings import Settings

BASE = {"STORELOOP_JWT_SECRET": "x" * 32}
ON = {**BASE, "STORELOOP_WECOM": "live", "STORELOOP_WECOM_CORP_ID": "wwcorp", "STORELOOP_WECOM_SECRET": "s",
      "STORELOOP_WECOM_CALLBACK_TOKEN": "t", "STORELOOP_WECOM_AES_KEY": "k" * 43}


def test_off_by_default_with_wecoms_own_robot_host() -> None:
    s = Settings.from_env(BASE)
    assert (s.wecom, s.wecom_api_base, s.webhook_hosts) == ("off", "https://qyapi.weixin.qq.com",
                                                           ("qyapi.weixin.qq.com",))


def test_live_needs_every_value_and_https() -> None:
    s = Settings.from_env(ON)
    assert (s.wecom, s.wecom_corp_id, s.wecom_secret) == ("live", "wwcorp", "s")
    for name in ("STORELOOP_WECOM_CORP_ID", "STORELOOP_WECOM_SECRET", "STORELOOP_WECOM_CALLBACK_TOKEN"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({k: v for k, v in ON.items() if k != name})
    with pytest.raises(ConfigError, match="43"):
        Settings.from_env({**ON, "STORELOOP_WECOM_AES_KEY": "short"})
    with pytest.raises(ConfigError, match="https"):
        Settings.from_env({**ON, "STORELOOP_WECOM_API_BASE": "http://127.0.0.1:8790"})
    assert Settings.from_env({**ON, "STORELOOP_WECOM": "emulator",
                              "STORELOOP_WECOM_API_BASE": "http://127.0.0.1:8790/"}).wecom_api_base == (
        "http://127.0.0.1:8790")
    with pytest.raises(ConfigError, match="STORELOOP_WECOM must be"):
        Settings.from_env({**ON, "STORELOOP_WECOM": "on"})


def test_secrets_can_come_from_ssm_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []

    def fake_ssm(name: str, region: str) -> str:
        read.append(name)
        return {"/sl/secret": "from-ssm", "/sl/token": "tok", "/sl/aes": "a" * 43}[name]

    monkeypatch.setattr(settings_module, "read_ssm_parameter", fake_ssm)
    env = {k: v for k, v in ON.items() if k not in ("STORELOOP_WECOM_SECRET", "STORELOOP_WECOM_CALLBACK_TOKEN",
                                                     "STORELOOP_WECOM_AES_KEY")}
    s = Settings.from_env({**env, "STORELOOP_WECOM_SECRET_PARAM": "/sl/secret",
                           "STORELOOP_WECOM_CALLBACK_TOKEN_PARAM": "/sl/token",
                           "STORELOOP_WECOM_AES_KEY_PARAM": "/sl/aes"})
    assert (s.wecom_secret, s.wecom_callback_token, s.wecom_aes_key) == ("from-ssm", "tok", "a" * 43)
    assert read == ["/sl/secret", "/sl/token", "/sl/aes"]
    assert "from-ssm" not in repr(s) and "tok" not in repr(s) and "a" * 43 not in repr(s)


def test_webhook_hosts_are_read_as_a_list() -> None:
    s = Settings.from_env({**BASE, "STORELOOP_WEBHOOK_HOSTS": " QYAPI.weixin.qq.com , http://127.0.0.1:9 ,"})
    assert s.webhook_hosts == ("qyapi.weixin.qq.com", "http://127.0.0.1:9")
