"""The OpenAPI document a client generator reads: valid (openapi-spec-validator),
readable unique operationIds, tags, roles in descriptions, typed error codes
and details, headers, examples that match their models, and error
declarations that cover what each capability raises."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from chalice import Blueprint
from chalice.test import Client
from openapi_spec_validator import validate

import app as app_module
from chalicelib import edge, errors, web
from chalicelib.openapi import EXAMPLES, build_openapi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc() -> dict:
    return build_openapi()


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_the_document_is_valid_openapi_3_1(doc: dict) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the 3.1 schema


def test_operation_ids_are_unique_readable_and_tagged(doc: dict) -> None:
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert op_id.isidentifier() and op_id[0].islower(), op_id
    assert {"claimCoupon", "redeemCoupon", "reverseRedemption", "getWallet", "joinGroup"} <= set(ids)
    tag_names = {t["name"] for t in doc["tags"]}
    for _, _, op in operations(doc):
        assert len(op["tags"]) == 1 and op["tags"][0] in tag_names


def test_every_operation_names_its_roles_and_documents_its_errors(doc: dict) -> None:
    for path, method, op in operations(doc):
        secured = "security" in op
        assert ("Roles allowed:" in op["description"]) == secured, (path, method)
        for status, response in op["responses"].items():
            assert "x-request-id" in response["headers"], (path, method, status)
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            codes = schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
            assert codes and all(isinstance(c, str) for c in codes)
            if status == "503":
                assert "Retry-After" in response["headers"]
        assert {"400", "500", "503"} <= set(op["responses"])
        if secured:
            assert {"401", "403"} <= set(op["responses"])
        if method == "post":
            assert {"$ref": "#/components/parameters/IdempotencyKey"} in op["parameters"]
    claim = doc["paths"]["/coupon-templates/{template_id}/claim"]["post"]
    assert "`member`" in claim["description"]
    conflict = claim["responses"]["409"]["content"]["application/json"]["schema"]
    assert {"sold_out", "limit_reached", "not_started", "ended"} <= set(
        conflict["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"])


def test_error_details_are_typed_and_codes_are_an_enum(doc: dict) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["ErrorDetail"]["required"] == ["field", "problem"]
    error = schemas["ErrorEnvelope"]["properties"]["error"]
    assert error["properties"]["details"]["items"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert {"sold_out", "validation_error", "try_again", "unauthenticated"} <= set(schemas["ErrorCode"]["enum"])
    assert doc["servers"] and doc["servers"][0]["url"]


def test_examples_match_their_models(doc: dict) -> None:
    by_id = {spec.operation_id: spec for spec in web.all_routes()}
    assert set(EXAMPLES) <= set(by_id), "an example names an operation that does not exist"
    for op_id, example in EXAMPLES.items():
        spec = by_id[op_id]
        if "request" in example:
            assert spec.body is not None
            spec.body.model_validate(example["request"])
        if "response" in example:
            assert spec.response is not None
            spec.response.model_validate(example["response"])


def _raised_error_classes(package: Path) -> set[type[errors.StoreloopError]]:
    """Every StoreloopError subclass a `raise` in this package names."""
    found: set[type[errors.StoreloopError]] = set()
    for source in package.rglob("*.py"):
        module_name = ".".join(source.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(module_name)
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(target, ast.Attribute):  # ValidationFailed.field(...)
                    target = target.value
                if isinstance(target, ast.Name):
                    cls = getattr(module, target.id, None)
                    if isinstance(cls, type) and issubclass(cls, errors.StoreloopError):
                        found.add(cls)
    return found


def test_each_capability_declares_every_code_it_raises() -> None:
    """Static half of the check (the dynamic half: STORELOOP_STRICT_ERRORS=1
    turns an undeclared code into a 500 in every HTTP test): a code raised
    anywhere in a capability's package must be declared by one of its routes."""
    declared_by_tag: dict[str, set[str]] = {}
    for spec in web.all_routes():
        declared_by_tag.setdefault(spec.tag, set()).update(spec.codes())
    for tag, declared in declared_by_tag.items():
        raised = {cls.code for cls in _raised_error_classes(ROOT / "chalicelib" / tag)}
        # InternalError / framework errors are the edge's own
        raised -= {errors.MethodNotAllowed.code, errors.UnsupportedMediaType.code}
        assert raised <= declared, f"{tag} raises undeclared codes: {sorted(raised - declared)}"


class _Refusal(errors.Conflict):
    code = "test_only_refusal"


def test_strict_mode_turns_an_undeclared_code_into_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice import Chalice

    bp = Blueprint(__name__)
    before = list(web.ROUTES)

    @web.endpoint(bp, "GET", "/strict-probe/{thing_id}", summary="probe", roles=None, errors=(404,))
    def strict_probe(principal: object, thing_id: str) -> None:
        raise _Refusal("nope") if thing_id == "undeclared" else errors.NotFound()

    probe = Chalice("probe")
    probe.register_blueprint(bp)
    probe.register_middleware(edge.envelope_framework_errors, "http")
    try:
        with Client(probe) as client:
            monkeypatch.setenv(web.STRICT_ERRORS_ENV, "1")
            assert client.http.get("/strict-probe/known").status_code == 404
            strict = client.http.get("/strict-probe/undeclared")
            assert strict.status_code == 500 and b"does not declare" in strict.body
            monkeypatch.setenv(web.STRICT_ERRORS_ENV, "0")  # deployed: answered, and logged
            assert client.http.get("/strict-probe/undeclared").status_code == 409
    finally:
        web.ROUTES[:] = before


def test_docs_page_and_assets_are_served_without_a_cdn() -> None:
    with Client(app_module.app) as client:
        page = client.http.get("/docs")
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        html = page.body.decode()
        assert "http://" not in html and "https://" not in html  # nothing from elsewhere
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f'"docs/{asset}"' in html
            got = client.http.get(f"/docs/{asset}")
            assert got.status_code == 200 and len(got.body) > 10_000
        assert client.http.get("/docs/evil.js").status_code == 404


def test_routes_taking_if_match_document_it_and_their_path_answers_an_etag(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice import Blueprint as Bp

    from chalicelib.schema import ApiModel

    class Thing(ApiModel):
        name: str

    bp = Bp(__name__)
    before = list(web.ROUTES)

    @web.endpoint(bp, "GET", "/etag-probe/{thing_id}", summary="read", roles=("admin",), response=Thing)
    def read_thing(principal: object, thing_id: str) -> Thing:
        return Thing(name=thing_id)

    @web.endpoint(bp, "PUT", "/etag-probe/{thing_id}", summary="write", roles=("admin",), body=Thing,
                  response=Thing, errors=(404,))
    def write_thing(principal: object, thing_id: str, body: Thing, if_match: str | None) -> Thing:
        return body

    try:
        doc = build_openapi()
        validate(doc)
        ops = doc["paths"]["/etag-probe/{thing_id}"]
        assert {"$ref": "#/components/parameters/IfMatch"} in ops["put"]["parameters"]
        assert "ETag" in ops["get"]["responses"]["200"]["headers"]
        assert "ETag" in ops["put"]["responses"]["200"]["headers"]
    finally:
        web.ROUTES[:] = before


def test_no_schema_property_is_untyped(doc: dict) -> None:
    """A generator turns an untyped property into `unknown`: every field of
    every model must say what it is (a serializer with `-> Any` on ApiModel
    once erased them all)."""
    typed = ("type", "$ref", "anyOf", "oneOf", "allOf", "const", "enum")
    for name, schema in doc["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            assert any(k in sub for k in typed), f"{name}.{prop} has no type: {sub}"
