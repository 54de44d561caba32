"""The CloudFormation that `chalice package --merge-template` merges into
Chalice's SAM output: tables (from the same PynamoDB models `create-tables`
uses), the fan-out queue and its dead-letter queue, one least-privilege role
per function, the secrets' SSM parameter names, API Gateway error envelopes,
the API's production settings (endpoint type, optional custom domain, stage
throttling, a usage plan with API keys for POS integrators, access logs,
X-Ray), log groups with retention, alarms and a dashboard
(infra/monitoring.py). Pure: takes the app and the stage config, returns a dict."""

from __future__ import annotations

import json
from typing import Any

from chalice import Chalice
from chalice.app import DynamoDBEventConfig, SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.db import all_models
from infra.access import ACCESS, ALL_TABLES, QUEUE_CONSUMERS, QUEUE_SENDERS, STREAM_CONSUMERS
from infra.gateway_responses import GATEWAY_RESPONSES
from infra.monitoring import alarms, dashboard

API_FUNCTION = "api_handler"
MAX_RECEIVE_COUNT = 5
# a stream batch that keeps failing is retried this often, then parked in the
# dead-letter queue (its records' metadata) so the shard moves on
STREAM_MAX_RETRIES = 10
STREAM_DLQ = "StreamDeadLetterQueue"


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


# SSM SecureString parameters the functions read (name parameter -> env variable naming it)
SECRET_PARAMETERS = {
    "JwtSecretParameterName": ("STORELOOP_JWT_SECRET_PARAM", "jwt-secret", "the HS256 JWT secret"),
    "WecomSecretParameterName": ("STORELOOP_WECOM_SECRET_PARAM", "wecom-secret", "the WeCom app secret"),
    "WecomCallbackTokenParameterName": ("STORELOOP_WECOM_CALLBACK_TOKEN_PARAM", "wecom-callback-token",
                                        "the WeCom callback Token"),
    "WecomAesKeyParameterName": ("STORELOOP_WECOM_AES_KEY_PARAM", "wecom-aes-key",
                                 "the WeCom callback EncodingAESKey (43 characters)"),
}
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653]


def _log_group_id(function: str) -> str:
    return f"LogGroup{_camel(function)}"


def _role(function: str, table_ids: dict[str, str]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        # only the function's own log group (created by the stack, so no logs:CreateLogGroup)
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [{"Fn::GetAtt": [_log_group_id(function), "Arn"]}]},
        {"Effect": "Allow", "Action": ["ssm:GetParameter"],
         "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                  ":parameter${" + name + "}"} for name in SECRET_PARAMETERS]},
        # X-Ray's write actions take no resource ARN (AWS documents "*" for them)
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
        *_dynamodb_statements(function, table_ids),
    ]
    if function in QUEUE_SENDERS:
        statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                           "Resource": {"Fn::GetAtt": ["FanoutQueue", "Arn"]}})
    if function in STREAM_CONSUMERS:
        table_id = f"Table{_camel(STREAM_CONSUMERS[function])}"
        statements.append({"Effect": "Allow",  # AWS's example policy for a stream-triggered function
                           "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                      "dynamodb:ListStreams"],
                           "Resource": [{"Fn::Sub": "${" + table_id + ".Arn}/stream/*"}]})
        statements.append({"Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": {"Fn::GetAtt": [STREAM_DLQ, "Arn"]}})
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


def _parameters(stage: str) -> dict[str, Any]:
    params: dict[str, Any] = {
        name: {"Type": "String", "Default": f"/storeloop/{stage}/{suffix}",
               "Description": f"Name of the SSM SecureString holding {what} (created before deploy)"}
        for name, (_, suffix, what) in SECRET_PARAMETERS.items()}
    params.update({
        "EndpointType": {"Type": "String", "Default": "REGIONAL", "AllowedValues": ["REGIONAL", "EDGE"],
                         "Description": "REGIONAL (required in AWS China; pair with your own CDN if needed) "
                                        "or EDGE (CloudFront-fronted, global regions only)"},
        "DomainName": {"Type": "String", "Default": "",
                       "Description": "Optional custom domain, e.g. api.example.cn (ICP-filed in China; "
                                      "WeChat mini-programs may only call registered domains)"},
        "CertificateArn": {"Type": "String", "Default": "",
                           "Description": "ACM certificate for DomainName (in this region for REGIONAL, "
                                          "us-east-1 for EDGE)"},
        "ThrottleRateLimit": {"Type": "Number", "Default": 500, "MinValue": 1,
                              "Description": "Stage-wide steady requests per second"},
        "ThrottleBurstLimit": {"Type": "Number", "Default": 1000, "MinValue": 1},
        "PosRateLimit": {"Type": "Number", "Default": 50, "MinValue": 1,
                         "Description": "Per-API-key requests per second for POS integrators"},
        "PosBurstLimit": {"Type": "Number", "Default": 100, "MinValue": 1},
        "PosDailyQuota": {"Type": "Number", "Default": 200000, "MinValue": 1},
        "CreatePosApiKey": {"Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
                            "Description": "Create a first POS integrator API key in the usage plan"},
        "LogRetentionDays": {"Type": "Number", "Default": 90 if stage == "prod" else 14,
                             "AllowedValues": LOG_RETENTION_DAYS},
    })
    return params


ACCESS_LOG_FORMAT = json.dumps({
    "request_id": "$context.requestId", "ip": "$context.identity.sourceIp", "method": "$context.httpMethod",
    "route": "$context.resourcePath", "path": "$context.path", "status": "$context.status",
    "latency_ms": "$context.responseLatency", "integration_latency_ms": "$context.integrationLatency",
    "bytes": "$context.responseLength", "api_key_id": "$context.identity.apiKeyId",
    "error": "$context.error.message", "xray_trace_id": "$context.xrayTraceId"}, separators=(",", ":"))


def _api_resources(stage: str, api_name: str) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "RestAPI": {"DependsOn": ["ApiGatewayAccount"], "Properties": {
            "Name": api_name,
            "EndpointConfiguration": {"Type": {"Ref": "EndpointType"}},
            "TracingEnabled": True,
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
                                "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"}}],
            "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["LogGroupApiAccess", "Arn"]},
                                 "Format": ACCESS_LOG_FORMAT}}},
        "LogGroupApiAccess": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "Properties": {
            "LogGroupName": f"/storeloop/{stage}/api-access", "RetentionInDays": {"Ref": "LogRetentionDays"}}},
        # API Gateway writes access logs with an account-wide role (one per region; setting it again is harmless)
        "ApiGatewayCloudWatchRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                              "AmazonAPIGatewayPushToCloudWatchLogs"}]}},
        "ApiGatewayAccount": {"Type": "AWS::ApiGateway::Account", "Properties": {
            "CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}}},
        "PosUsagePlan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {
            "UsagePlanName": f"storeloop-{stage}-pos",
            "Description": "POS integrators: per-key throttle and daily quota on key-protected routes",
            "ApiStages": [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}],
            "Throttle": {"RateLimit": {"Ref": "PosRateLimit"}, "BurstLimit": {"Ref": "PosBurstLimit"}},
            "Quota": {"Limit": {"Ref": "PosDailyQuota"}, "Period": "DAY"}}},
        "PosApiKey": {"Type": "AWS::ApiGateway::ApiKey", "Condition": "CreatePosKey",
                      "DependsOn": ["PosUsagePlan"], "Properties": {
                          "Name": f"storeloop-{stage}-pos-1", "Enabled": True,
                          "Description": "First POS integrator key (add more: docs/deploy.md)"}},
        "PosUsagePlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Condition": "CreatePosKey", "Properties": {
            "KeyId": {"Ref": "PosApiKey"}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": "PosUsagePlan"}}},
        "ApiDomainName": {"Type": "AWS::ApiGateway::DomainName", "Condition": "HasDomain",
                          # cfn-lint checks the ARN pattern against the parameter's default (""), though
                          # the resource only exists when a domain (and its certificate) is given
                          "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W1030"]}}},
                          "Properties": {
            "DomainName": {"Ref": "DomainName"},
            "EndpointConfiguration": {"Types": [{"Ref": "EndpointType"}]},
            "RegionalCertificateArn": {"Fn::If": ["IsRegional", {"Ref": "CertificateArn"}, {"Ref": "AWS::NoValue"}]},
            "CertificateArn": {"Fn::If": ["IsRegional", {"Ref": "AWS::NoValue"}, {"Ref": "CertificateArn"}]},
            "SecurityPolicy": "TLS_1_2"}},
        "ApiBasePathMapping": {"Type": "AWS::ApiGateway::BasePathMapping", "Condition": "HasDomain", "Properties": {
            "DomainName": {"Ref": "ApiDomainName"}, "RestApiId": {"Ref": "RestAPI"},
            "Stage": {"Ref": "RestAPI.Stage"}}},
    }
    return resources


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
    resources[STREAM_DLQ] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": f"{prefix}stream-dlq", "MessageRetentionPeriod": 14 * 24 * 3600, "SqsManagedSseEnabled": True}}
    resources["AlarmStreamDeadLetters"] = _alarm(
        "A coupons-stream batch failed 10 times: member-tier figures miss its events (docs/console.md)",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [STREAM_DLQ, "QueueName"]}}, "Maximum")
    resources["AlarmFanoutDeadLetters"] = _alarm(
        "Fan-out messages failed 5 times and are parked in the DLQ: posts need a look",
        "AWS/SQS", "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FanoutDeadLetterQueue", "QueueName"]}}, "Maximum")

    api_name = f"storeloop-{stage}"
    api_stage = str(stage_config.get("api_gateway_stage", "api"))
    resources.update(_api_resources(stage, api_name))
    resources.update(alarms(api_name, api_stage, stage))
    resources["Dashboard"] = dashboard(api_name, api_stage, stage)

    functions = [API_FUNCTION] + [source.name for source in app.event_sources]
    for function in functions:
        logical_id = _function_logical_id(function)
        role_id = f"Role{_camel(function)}"
        resources[role_id] = _role(function, table_ids)
        resources[_log_group_id(function)] = {
            "Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "Properties": {
                "LogGroupName": f"/storeloop/{stage}/lambda/{function}",
                "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        variables: dict[str, Any] = {var: {"Ref": name} for name, (var, _, _) in SECRET_PARAMETERS.items()}
        variables["STORELOOP_STAGE"] = stage  # the metrics' Stage dimension
        if function == API_FUNCTION:  # the OpenAPI document's `servers` (empty: relative "/")
            variables["STORELOOP_PUBLIC_URL"] = {"Fn::If": ["HasDomain", {"Fn::Sub": "https://${DomainName}"}, ""]}
        props: dict[str, Any] = {
            "Role": {"Fn::GetAtt": [role_id, "Arn"]},
            "Environment": {"Variables": variables},
            "Tracing": "Active",
            # the stack's own log group (retention, scoped permissions), not the implicit /aws/lambda/<name>
            "LoggingConfig": {"LogGroup": {"Ref": _log_group_id(function)}, "LogFormat": "Text"},
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
        elif isinstance(source, DynamoDBEventConfig):
            logical_id = _function_logical_id(source.name)
            table_id = f"Table{_camel(STREAM_CONSUMERS[source.name])}"
            # the table's own stream (Chalice only knows a placeholder ARN at import time)
            resources[logical_id]["Properties"]["Events"] = {f"{logical_id}DynamodbEventSource": {"Properties": {
                "Stream": {"Fn::GetAtt": [table_id, "StreamArn"]},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "MaximumRetryAttempts": STREAM_MAX_RETRIES,
                "DestinationConfig": {"OnFailure": {"Type": "SQS",
                                                    "Destination": {"Fn::GetAtt": [STREAM_DLQ, "Arn"]}}}}}}

    for response_type, (status, envelope) in GATEWAY_RESPONSES.items():
        resources[f"GatewayResponse{_camel(response_type.lower())}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {"RestApiId": {"Ref": "RestAPI"}, "ResponseType": response_type, "StatusCode": str(status),
                           "ResponseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
                           "ResponseTemplates": {"application/json": json.dumps(envelope, ensure_ascii=False)}}}

    return {
        "Parameters": _parameters(stage),
        "Conditions": {
            "HasDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
            "IsRegional": {"Fn::Equals": [{"Ref": "EndpointType"}, "REGIONAL"]},
            "CreatePosKey": {"Fn::Equals": [{"Ref": "CreatePosApiKey"}, "true"]},
        },
        "Resources": resources,
        "Outputs": {
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "FanoutDeadLetterQueueUrl": {"Value": {"Ref": "FanoutDeadLetterQueue"}},
            "PosUsagePlanId": {"Value": {"Ref": "PosUsagePlan"}},
            "PosApiKeyId": {"Condition": "CreatePosKey", "Value": {"Ref": "PosApiKey"}},
            "ApiDomainTarget": {"Condition": "HasDomain",
                                "Description": "Point DomainName's CNAME (or alias) here",
                                "Value": {"Fn::If": ["IsRegional",
                                                     {"Fn::GetAtt": ["ApiDomainName", "RegionalDomainName"]},
                                                     {"Fn::GetAtt": ["ApiDomainName", "DistributionDomainName"]}]}},
            "DashboardName": {"Value": {"Ref": "Dashboard"}},
        },
    }
