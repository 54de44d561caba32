"""`python -m infra.build` turns the same code into a deployable stack: the
packaged template passes cfn-lint and keeps the production invariants."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.db import all_models
from infra.build import build

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("build") / "prod"
    report = build("prod", out, lint=True)  # raises if cfn-lint reports anything
    return report, json.loads((out / "sam.json").read_text()), out


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == kind}


def test_every_table_is_defined_from_the_models(packaged) -> None:
    _, template, _ = packaged
    tables = {t["Properties"]["TableName"]: t for t in resources(template, "AWS::DynamoDB::Table").values()}
    for model in all_models():
        table = tables[f"storeloop-prod-{model.BASE_NAME}"]["Properties"]
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        schema = model._get_schema()
        assert {k["AttributeName"] for k in table["KeySchema"]} == {k["AttributeName"] for k in schema["key_schema"]}
        assert len(table.get("GlobalSecondaryIndexes", [])) == len(schema["global_secondary_indexes"])
        ttl = model._ttl_attribute()
        if ttl is not None:
            assert table["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}
    assert len(tables) == len(all_models())


def test_the_fanout_queue_has_a_dead_letter_queue_and_partial_batch_failures(packaged) -> None:
    _, template, _ = packaged
    queue = template["Resources"]["FanoutQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]}
    sqs_events = [e for f in resources(template, "AWS::Serverless::Function").values()
                  for e in f["Properties"].get("Events", {}).values() if e["Type"] == "SQS"]
    assert sqs_events and all(e["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
                              for e in sqs_events)
    schedules = [e for f in resources(template, "AWS::Serverless::Function").values()
                 for e in f["Properties"].get("Events", {}).values() if e["Type"] == "Schedule"]
    assert len(schedules) == 1


def test_no_data_statement_grants_every_resource(packaged) -> None:
    _, template, _ = packaged
    functions = resources(template, "AWS::Serverless::Function")
    for function in functions.values():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = template["Resources"][role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.split(":")[0] in ("dynamodb", "sqs", "ssm") for a in actions):
                targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                assert "*" not in targets and all("*" not in t for t in targets if isinstance(t, str))
    assert len({f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}) == len(functions)


def test_the_secret_is_a_parameter_name_never_a_value(packaged) -> None:
    _, template, _ = packaged
    text = json.dumps(template)
    assert "STORELOOP_JWT_SECRET\"" not in text
    for function in resources(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["STORELOOP_JWT_SECRET_PARAM"] == {"Ref": "JwtSecretParameterName"}
        assert function["Properties"]["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_alarms_watch_the_dead_letter_queue_and_every_function(packaged) -> None:
    _, template, _ = packaged
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    assert any(a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible" for a in alarms)
    errored = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
               if a["Properties"]["MetricName"] == "Errors"}
    assert errored == set(resources(template, "AWS::Serverless::Function"))


def test_unknown_routes_get_the_error_envelope_from_api_gateway(packaged) -> None:
    _, template, _ = packaged
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in resources(template, "AWS::ApiGateway::GatewayResponse").values()}
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    assert json.loads(missing["ResponseTemplates"]["application/json"])["error"]["code"] == "not_found"


def test_the_zip_leaves_boto_to_the_runtime_and_stays_small(packaged) -> None:
    report, _, out = packaged
    names = zipfile.ZipFile(out / "deployment.zip").namelist()
    assert not any(n.startswith(("botocore/", "boto3/")) for n in names)
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    assert any(n.startswith("pynamodb/") for n in names) and any(n.startswith("pydantic_core/") for n in names)
    print(f"deployment.zip: {report['zip_bytes']} bytes (chalice: {report['zip_bytes_chalice']})")
