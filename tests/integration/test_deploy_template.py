"""`python -m infra.build` turns the same code into a deployable stack: the
packaged template passes cfn-lint and `sam validate --lint` and keeps the
production invariants."""

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
    report = build("prod", out, lint=True)  # raises if cfn-lint or `sam validate --lint` reports anything
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
    # the consumer takes up to 25 stores (one post transaction's worth) after at most a 1 s window;
    # SQS is not redelivered mid-batch: visibility 6x the function's timeout
    assert [(e["Properties"]["BatchSize"], e["Properties"]["MaximumBatchingWindowInSeconds"])
            for e in sqs_events] == [(25, 1)]
    [consumer] = [f["Properties"] for f in resources(template, "AWS::Serverless::Function").values()
                  if any(e["Type"] == "SQS" for e in f["Properties"].get("Events", {}).values())]
    assert queue["VisibilityTimeout"] == 6 * consumer["Timeout"] and consumer["Timeout"] >= 120
    schedules = [e for f in resources(template, "AWS::Serverless::Function").values()
                 for e in f["Properties"].get("Events", {}).values() if e["Type"] == "Schedule"]
    # the 5-minute tick, the hourly insights refresh (:05, each store at its local 00:05), the nightly WeCom
    # reconcile (02:30)
    assert sorted(e["Properties"]["Schedule"] for e in schedules) == [
        "cron(30 18 * * ? *)", "cron(5 * * * ? *)", "rate(5 minutes)"]


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
        assert variables["STORELOOP_WECOM_SECRET_PARAM"] == {"Ref": "WecomSecretParameterName"}
        assert variables["STORELOOP_WECOM_CALLBACK_TOKEN_PARAM"] == {"Ref": "WecomCallbackTokenParameterName"}
        assert variables["STORELOOP_WECOM_AES_KEY_PARAM"] == {"Ref": "WecomAesKeyParameterName"}
        assert variables["STORELOOP_STAGE"] == "prod"
        assert function["Properties"]["Runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_alarms_fire_on_api_5xx_latency_a_stalled_tick_and_failed_posts(packaged) -> None:
    _, template, _ = packaged
    res = template["Resources"]
    api_dims = [{"Name": "ApiName", "Value": "storeloop-prod"}, {"Name": "Stage", "Value": "api"}]
    five = res["AlarmApi5xx"]["Properties"]
    assert (five["Namespace"], five["MetricName"], five["Dimensions"]) == ("AWS/ApiGateway", "5XXError", api_dims)
    assert res["RestAPI"]["Properties"]["Name"] == "storeloop-prod"  # what the ApiName dimension names
    p99 = res["AlarmApiLatencyP99"]["Properties"]
    assert p99["MetricName"] == "Latency" and p99["ExtendedStatistic"] == "p99"
    tick = res["AlarmTickNotRunning"]["Properties"]
    assert (tick["Namespace"], tick["MetricName"]) == ("Storeloop", "TickRuns")
    assert tick["Period"] * tick["EvaluationPeriods"] == 15 * 60
    assert tick["ComparisonOperator"] == "LessThanThreshold" and tick["TreatMissingData"] == "breaching"
    assert {"Name": "Service", "Value": "tick"} in tick["Dimensions"]
    failed = res["AlarmPostsFailed"]["Properties"]
    assert failed["MetricName"] == "PostsFailed" and {"Name": "Service", "Value": "fanout"} in failed["Dimensions"]
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_dashboard_shows_the_emitted_metrics(packaged) -> None:
    from chalicelib.metrics import NAMES

    _, template, _ = packaged
    body = json.loads(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"] if m[0] == "Storeloop"}
    assert {"Claims", "SoldOuts", "Redemptions", "Reversals", "PostsSent", "PostsFailed", "ServerErrors",
            "Latency", "TickRuns"} <= shown <= set(NAMES)


def test_the_api_is_production_shaped(packaged) -> None:
    _, template, _ = packaged
    res = template["Resources"]
    api = res["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == {"Type": {"Ref": "EndpointType"}}
    assert template["Parameters"]["EndpointType"]["Default"] == "REGIONAL"
    assert api["TracingEnabled"] is True
    [settings] = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"} and settings["ResourcePath"] == "/*"
    access = api["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["LogGroupApiAccess", "Arn"]}
    assert json.loads(access["Format"])["request_id"] == "$context.requestId"
    assert res["ApiGatewayAccount"]["Type"] == "AWS::ApiGateway::Account"
    domain = res["ApiDomainName"]
    assert domain["Condition"] == "HasDomain" and domain["Properties"]["DomainName"] == {"Ref": "DomainName"}
    assert res["ApiBasePathMapping"]["Properties"]["RestApiId"] == {"Ref": "RestAPI"}
    public_url = res["APIHandler"]["Properties"]["Environment"]["Variables"]["STORELOOP_PUBLIC_URL"]
    assert public_url["Fn::If"][0] == "HasDomain"  # the OpenAPI `servers` names the custom domain
    assert "CertificateArn" in template["Parameters"]
    plan = res["PosUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
    assert plan["Throttle"]["RateLimit"] == {"Ref": "PosRateLimit"} and plan["Quota"]["Period"] == "DAY"
    assert res["PosUsagePlanKey"]["Properties"]["KeyId"] == {"Ref": "PosApiKey"}
    # POS routes need the key on prod (STORELOOP_POS_API_KEYS=required); members' routes never do
    paths = api["DefinitionBody"]["paths"]
    assert paths["/payments"]["post"]["security"] == [{"api_key": []}]
    assert "security" not in paths["/coupon-templates/{template_id}/claim"]["post"]


def test_functions_log_to_their_own_retained_groups_with_scoped_permissions_and_xray(packaged) -> None:
    _, template, _ = packaged
    res = template["Resources"]
    for function in resources(template, "AWS::Serverless::Function").values():
        props = function["Properties"]
        assert props["Tracing"] == "Active"
        group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        group = res[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        role_id = props["Role"]["Fn::GetAtt"][0]
        statements = res[role_id]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        logs = [s for s in statements if any(a.startswith("logs:") for a in s["Action"])]
        assert logs == [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                         "Resource": [{"Fn::GetAtt": [group_id, "Arn"]}]}]
        assert any("xray:PutTraceSegments" in s["Action"] for s in statements)
    assert res["LogGroupApiAccess"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_retained_tables_can_be_imported_after_a_teardown(packaged) -> None:
    from infra.import_tables import resources_to_import, tables_template

    _, template, _ = packaged
    imports = resources_to_import("prod")
    tables = tables_template(template)["Resources"]
    assert {i["LogicalResourceId"] for i in imports} == set(tables)
    for item in imports:
        table = tables[item["LogicalResourceId"]]
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["TableName"] == item["ResourceIdentifier"]["TableName"]


def test_alarms_watch_the_dead_letter_queue_and_every_function(packaged) -> None:
    _, template, _ = packaged
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    assert any(a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible" for a in alarms)
    errored = {a["Properties"]["Dimensions"][0]["Value"]["Ref"] for a in alarms
               if a["Properties"]["MetricName"] == "Errors" and a["Properties"]["Namespace"] == "AWS/Lambda"}
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
    assert "chalicelib/vendor/swagger-ui/swagger-ui-bundle.js" in names  # /docs works deployed
    assert not any(n.startswith("devtools/") or n == "chalicelib/gateway.py" for n in names)
    assert report["zip_bytes"] <= 8_000_000
    assert "valid SAM Template" in report["sam_validate"]
    print(f"deployment.zip: {report['zip_bytes']} bytes (chalice: {report['zip_bytes_chalice']})")


def test_member_tiers_are_counted_from_the_coupons_stream(packaged) -> None:
    _, template, _ = packaged
    table = template["Resources"]["TableCoupons"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    function = template["Resources"]["StatsMemberTiers"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "DynamoDB"
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["TableCoupons", "StreamArn"]}  # not Chalice's placeholder
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamDeadLetterQueue", "Arn"]}
    role = template["Resources"][function["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    streams = [s for s in statements if "dynamodb:GetRecords" in s["Action"]]
    assert streams == [{"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                      "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
                        "Resource": [{"Fn::Sub": "${TableCoupons.Arn}/stream/*"}]}]


def test_every_function_handler_resolves_and_event_lambdas_import_only_a_lean_module(packaged) -> None:
    """The API function serves every route from the route table; each event
    function's handler is `<module>.<function>` in a capability's lean
    events.py (docs/cold_start.md), which must exist in the zip."""
    import importlib

    _, template, out = packaged
    functions = resources(template, "AWS::Serverless::Function")
    handlers = {name: f["Properties"]["Handler"] for name, f in functions.items()}
    assert handlers.pop("APIHandler") == "app.app"
    with zipfile.ZipFile(out / "deployment.zip") as zipped:
        names = set(zipped.namelist())
    assert len(handlers) == 5
    for handler in handlers.values():
        module, function = handler.rsplit(".", 1)
        assert module.startswith("chalicelib.") and module.endswith(".events"), handler
        assert module.replace(".", "/") + ".py" in names
        assert callable(getattr(importlib.import_module(module), function))
