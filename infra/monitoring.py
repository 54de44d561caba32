"""Alarms that fire on real failure, and the dashboard, for the stack.

The API turns exceptions into 500 envelopes, so `AWS/Lambda Errors` of the
API function hardly moves: the API is watched through API Gateway's own 5XX
count and p99 latency. The schedule is watched through the `TickRuns` metric
the tick emits (chalicelib/metrics.py, Embedded Metric Format): no data for
15 minutes is an alarm (missing data is breaching). Failed posts through
`PostsFailed`. Metric names come from `chalicelib.metrics.NAMES`, so a renamed
metric breaks the tests, not the alarm."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.metrics import NAMES, NAMESPACE

TOPIC = {"Ref": "AlarmTopic"}


def _check(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"{name} is not a metric chalicelib/metrics.py emits")
    return name


def _alarm(description: str, metric: dict[str, Any], *, threshold: float, periods: int = 1, period_s: int = 300,
           comparison: str = "GreaterThanOrEqualToThreshold", missing: str = "notBreaching",
           datapoints: int | None = None) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, **metric, "Period": period_s, "EvaluationPeriods": periods,
        "DatapointsToAlarm": datapoints or periods, "Threshold": threshold, "ComparisonOperator": comparison,
        "TreatMissingData": missing, "AlarmActions": [TOPIC], "OKActions": [TOPIC]}}


def _api_metric(name: str, api_name: str, stage: str, stat: str) -> dict[str, Any]:
    statistic = {"ExtendedStatistic": stat} if stat.startswith("p") else {"Statistic": stat}
    return {"Namespace": "AWS/ApiGateway", "MetricName": name, **statistic,
            "Dimensions": [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}]}


def _app_metric(name: str, service: str, stage: str, stat: str) -> dict[str, Any]:
    return {"Namespace": NAMESPACE, "MetricName": _check(name), "Statistic": stat,
            "Dimensions": [{"Name": "Service", "Value": service}, {"Name": "Stage", "Value": stage}]}


def alarms(api_name: str, api_stage: str, stage: str) -> dict[str, Any]:
    return {
        "AlarmApi5xx": _alarm(
            "API answered 5XX (500 internal_error or API Gateway errors) 5+ times in 5 minutes; "
            "503 try_again counts too when it is sustained",
            _api_metric("5XXError", api_name, api_stage, "Sum"), threshold=5),
        "AlarmApiLatencyP99": _alarm(
            "API p99 latency above 3 s for 15 minutes (claims and redemptions should answer in well under 1 s)",
            _api_metric("Latency", api_name, api_stage, "p99"), threshold=3000, periods=3),
        "AlarmTickNotRunning": _alarm(
            "The campaigns tick has not completed for 15 minutes: daily posts are not going out",
            _app_metric("TickRuns", "tick", stage, "Sum"), threshold=1, periods=3,
            comparison="LessThanThreshold", missing="breaching"),
        "AlarmPostsFailed": _alarm(
            "Posts failed to deliver to WeCom groups (they are retried; look at the posts' last_error)",
            _app_metric("PostsFailed", "fanout", stage, "Sum"), threshold=1),
    }


def dashboard(api_name: str, api_stage: str, stage: str) -> dict[str, Any]:
    def app(metric: str, service: str, stat: str = "Sum") -> list[Any]:
        return [NAMESPACE, _check(metric), "Service", service, "Stage", stage, {"stat": stat}]

    def api(metric: str, stat: str) -> list[Any]:
        return ["AWS/ApiGateway", metric, "ApiName", api_name, "Stage", api_stage, {"stat": stat}]

    def widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": {"title": title, "metrics": metrics, "period": 300, "view": "timeSeries",
                               "region": "${AWS::Region}", "stacked": False}}

    widgets = [
        widget("Coupons", [app("Claims", "api"), app("SoldOuts", "api"), app("Redemptions", "api"),
                           app("Reversals", "api")], 0, 0),
        widget("Posts", [app("PostsSent", "fanout"), app("PostsFailed", "fanout"), app("PostsDue", "tick"),
                         app("TickRuns", "tick")], 12, 0),
        widget("API errors", [api("5XXError", "Sum"), api("4XXError", "Sum"), app("ServerErrors", "api"),
                              app("Unavailable", "api")], 0, 6),
        widget("API latency (ms)", [api("Latency", "p50"), api("Latency", "p99"), app("Latency", "api", "p99")],
               12, 6),
        widget("Members", [app("Joins", "api"), app("Payments", "api"), app("Requests", "api")], 0, 12),
        widget("Tick duration (ms)", [app("TickDuration", "tick", "Maximum")], 12, 12),
    ]
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": f"storeloop-{stage}", "DashboardBody": {"Fn::Sub": body}}}
