import json
import logging

import pytest

from chalicelib import logs
from chalicelib.errors import ConfigError
from chalicelib.members.profile import mask_phone, normalise_phone
from chalicelib.settings import Settings


def format_line(message: str, exc_info: object = None) -> dict[str, object]:
    logger = logs.get_logger("test")
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), exc_info)  # type: ignore[arg-type]
    return json.loads(logs.JsonFormatter().format(record))


def test_log_lines_are_json_with_request_context_and_no_secrets() -> None:
    logs.clear()
    logs.bind(request_id="req-1", role="staff")
    line = format_line("member 13812345678 sent Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    assert line["request_id"] == "req-1" and line["role"] == "staff" and line["level"] == "INFO"
    assert "13812345678" not in line["message"] and "138****5678" in line["message"]  # type: ignore[operator]
    assert "eyJ" not in line["message"]  # type: ignore[operator]
    logs.clear()
    assert "request_id" not in format_line("after the request")


def test_exceptions_are_logged_redacted() -> None:
    try:
        raise ValueError("bad phone +8613912345678")
    except ValueError:
        import sys

        line = format_line("boom", sys.exc_info())
    assert "ValueError" in line["exception"] and "13912345678" not in line["exception"]  # type: ignore[operator]


def test_the_storeloop_logger_writes_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    import app  # noqa: F401 - Chalice configures its app logger ("storeloop") at ERROR on import

    logs.get_logger("test").info("hello")
    out = capsys.readouterr().out.strip().splitlines()
    assert out and json.loads(out[-1])["message"] == "hello"
    assert logging.getLogger(logs.ROOT).propagate is False


@pytest.mark.parametrize("raw,expected", [
    ("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("8613812345678", "13812345678"),
])
def test_mainland_mobiles_are_normalised(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "abc", "+1 415 555 0100"])
def test_other_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


def test_phones_are_masked_to_three_and_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) is None


def test_settings_read_the_operating_contract_variables() -> None:
    s = Settings.from_env({"STORELOOP_JWT_SECRET": "x" * 32, "STORELOOP_TABLE_PREFIX": "blue-",
                           "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_DEFAULT_REGION": "cn-north-1",
                           "STORELOOP_CHANNEL": "wecom"})
    assert (s.table_prefix, s.dynamodb_endpoint, s.region, s.channel) == (
        "blue-", "http://127.0.0.1:8000", "cn-north-1", "wecom")
    defaults = Settings.from_env({"STORELOOP_JWT_SECRET": "x" * 32})
    assert defaults.table_prefix == "storeloop-dev-" and defaults.dynamodb_endpoint is None
    assert defaults.channel == "record"


@pytest.mark.parametrize("env", [{}, {"STORELOOP_JWT_SECRET": "short"},
                                 {"STORELOOP_JWT_SECRET": "x" * 32, "STORELOOP_CHANNEL": "sms"}])
def test_missing_or_bad_settings_fail_loudly(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_a_deployed_stack_reads_the_jwt_secret_from_ssm() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("ssm", region_name="ap-east-1").put_parameter(
            Name="/storeloop/prod/jwt-secret", Value="s" * 48, Type="SecureString")
        settings = Settings.from_env({"STORELOOP_JWT_SECRET_PARAM": "/storeloop/prod/jwt-secret",
                                      "AWS_DEFAULT_REGION": "ap-east-1"})
        assert settings.jwt_secret == "s" * 48
        with pytest.raises(ConfigError):
            Settings.from_env({"STORELOOP_JWT_SECRET_PARAM": "/missing", "AWS_DEFAULT_REGION": "ap-east-1"})
