"""The CloudFormation that `chalice package --merge-template` merges into
Chalice's SAM output: tables (from the same PynamoDB models `create-tables`
uses), the fan-out queue and its dead-letter queue, one least-privilege role
per function, the JWT secret's SSM parameter name, API Gateway error
envelopes, and alarms. Pure: takes the app and the stage config, returns a dict."""

from __future__ import annotations

import json
from typing import Any

from chalice import Chalice
from chalice.app import SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.db import all_models
from infra.access import ACCESS, ALL_TABLES, QUEUE_CONSUMERS, QUEUE_SENDERS
from infra.gateway_responses import GATEWAY_RESPONSES

API_FUNCTION = "api_handler"
MAX_RECEIVE_COUNT = 5


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _function_logical_id(name: str) -> str:
    return "APIHandler" if name == API_FUNCTION else to_cfn_resource_name(name)


def _tables(prefix: str, retain: bool) -> dict[str, Any]:
    from chalicelib.db import cfn_table

    resources = {}
    for model in all_models():
        base = model.BASE_NAME  # type: ignore[attr-defined]
        resources[f"Table{_camel(base)}"] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain" if retain else "Delete",
            "UpdateReplacePolicy": "Retain" if retain else "Delete",
            "Properties": {"TableName": prefix + base, **cfn_table(model)},
        }
    return resources


def _dynamodb_statements(function: str, table_ids: dict[str, str]) -> list[dict[str, Any]]:
    grants = ACCESS.get(function, {})
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for base, logical_id in table_ids.items():
        actions = grants.get(base) or grants.get(ALL_TABLES)
        if actions:
            by_actions.setdefault(actions, []).append(logical_id)
    statements = []
    for actions, ids in by_actions.items():
        resources: list[Any] = []
        for logical_id in sorted(ids):
            resources.append({"Fn::GetAtt": [logical_id, "Arn"]})
            resources.append({"Fn::Sub": "${" + logical_id + ".Arn}/index/*"})
        statements.append({"Effect": "Allow", "Action": list(actions), "Resource": resources})
    return statements


def _role(function: str, table_ids: dict[str, str]) -> dict[str, Any]:
    log_group = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*"}
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [log_group]},
        {"Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                 ":parameter${JwtSecretParameterName}"}},
        *_dynamodb_statements(function, table_ids),
    ]
    if function in QUEUE_SENDERS:
        statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                           "Resource": {"Fn::GetAtt": ["FanoutQueue", "Arn"]}})
    if function in QUEUE_CONSUMERS:
        statements.append({"Effect": "Allow",
                           "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                      "sqs:ChangeMessageVisibility"],
                           "Resource": {"Fn::GetAtt": ["FanoutQueue", "Arn"]}})
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": f"{_camel(function)}Access",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }


def _alarm(description: str, namespace: str, metric: str, dimension: dict[str, Any], stat: str) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "Namespace": namespace, "MetricName": metric,
        "Dimensions": [dimension], "Statistic": stat, "Period": 300, "EvaluationPeriods": 1,
        "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "AlarmTopic"}]}}


def build_merge_template(app: Chalice, stage: str, stage_config: dict[str, Any]) -> dict[str, Any]:
    env = stage_config.get("environment_variables", {})
    prefix = env.get("STORELOOP_TABLE_PREFIX", "storeloop-dev-")
    queue_name = env.get("STORELOOP_FANOUT_QUEUE", f"{prefix}fanout")
    fanout_timeout = int(stage_config.get("lambda_functions", {}).get("campaigns_fanout", {})
                         .get("lambda_timeout", stage_config.get("lambda_timeout", 60)))
    resources: dict[str, Any] = _tables(prefix, retain=stage == "prod")
    table_ids = {model.BASE_NAME: f"Table{_camel(model.BASE_NAME)}" for model in all_models()}  # type: ignore[attr-defined]

    resources["FanoutDeadLetterQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": f"{queue_name}-dlq", "MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}}
    resources["FanoutQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": queue_name,
        # AWS's guidance: at least six times the consumer's timeout, so a slow batch is not redelivered mid-run
        "VisibilityTimeout": 6 * fanout_timeout,
        "SqsManagedSseEnabled": True,
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]},
                          "maxReceiveCount": MAX_RECEIVE_COUNT}}}
    resources["AlarmTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"{prefix}alarms"}}
    resources["AlarmFanoutDeadLetters"] = _alarm(
        "Fan-out messages failed 5 times and are parked in the DLQ: posts need a look",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FanoutDeadLetterQueue", "QueueName"]}}, "Maximum")

    functions = [API_FUNCTION] + [source.name for source in app.event_sources]
    for function in functions:
        logical_id = _function_logical_id(function)
        role_id = f"Role{_camel(function)}"
        resources[role_id] = _role(function, table_ids)
        props: dict[str, Any] = {
            "Role": {"Fn::GetAtt": [role_id, "Arn"]},
            "Environment": {"Variables": {"STORELOOP_JWT_SECRET_PARAM": {"Ref": "JwtSecretParameterName"}}},
        }
        resources[logical_id] = {"Properties": props}
        resources[f"AlarmErrors{logical_id}"] = _alarm(
            f"{function} raised errors", "AWS/Lambda", "Errors", {"Name": "FunctionName", "Value": {"Ref": logical_id}},
            "Sum")
    for source in app.event_sources:
        if isinstance(source, SQSEventConfig):
            logical_id = _function_logical_id(source.name)
            # Chalice names the queue by ARN; the mapping must wait for our queue to exist
            resources[logical_id]["DependsOn"] = ["FanoutQueue"]
            resources[logical_id]["Properties"]["Events"] = {f"{logical_id}SqsEventSource": {"Properties": {
                "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}

    for response_type, (status, envelope) in GATEWAY_RESPONSES.items():
        resources[f"GatewayResponse{_camel(response_type.lower())}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {"RestApiId": {"Ref": "RestAPI"}, "ResponseType": response_type, "StatusCode": str(status),
                           "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
                           "ResponseTemplates": {"application/json": json.dumps(envelope, ensure_ascii=False)}}}

    return {
        "Parameters": {"JwtSecretParameterName": {
            "Type": "String", "Default": f"/storeloop/{stage}/jwt-secret",
            "Description": "SSM SecureString holding the HS256 JWT secret (created before deploy)"}},
        "Resources": resources,
        "Outputs": {"AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
                    "FanoutDeadLetterQueueUrl": {"Value": {"Ref": "FanoutDeadLetterQueue"}}},
    }
