"""The TypeScript client a mini-program developer uses (clients/typescript/):
regenerated from the served OpenAPI document by openapi-typescript, type-checked
with tsc together with a sample that joins, claims and shows the wallet, and
the sample run in Node against `chalice local` (also through the wx.request
adapter). Seconds, not minutes: one generate, one tsc, one node run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api import Api, token
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
BIN = ROOT / "node_modules" / ".bin"


def run(cmd: list[str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_generated_client_compiles_and_joins_claims_and_shows_the_wallet(
        http_api: Api, served: ChaliceLocal, tmp_path: Path) -> None:
    admin = token("admin", "ts-admin")
    store = {"name": "人民广场店", "city": "上海市", "lat": 31.2304, "lng": 121.4737}
    assert http_api.put("/stores/ts-1", store, as_=admin).status == 200
    template = http_api.post("/coupon-templates", {
        "title": "满50减10", "kind": "amount_off", "value": 1000, "min_spend_fen": 5000, "total_stock": 5,
        "claim_start": "2020-01-01T00:00:00+08:00", "claim_end": "2099-01-01T00:00:00+08:00", "valid_days": 7},
        as_=admin)
    assert template.status == 201, template.body

    # a private copy (sources + tsconfig), so parallel runs never share generated files
    work = tmp_path / "client"
    shutil.copytree(CLIENT, work, ignore=shutil.ignore_patterns("generated", "dist", "node_modules"))
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    run([str(BIN / "openapi-typescript"), served.url + "/openapi.json", "-o", "generated/schema.d.ts",
         "--default-non-nullable", "false"], work)
    schema = (work / "generated" / "schema.d.ts").read_text()
    assert 'claimCoupon: {' in schema and '"sold_out"' in schema
    run([str(BIN / "tsc"), "-p", "tsconfig.json"], work)  # type errors fail here

    member = token("member", "ts-member")
    out = run(["node", "dist/sample/join-claim-wallet.js", served.url, member, str(template.body["template_id"])],
              work)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["store_id"] == "ts-1" and seen["group_id"]
    assert [c["coupon_id"] for c in seen["wallet"]] == [seen["coupon_id"]]
    assert seen["wx_wallet"] == [seen["coupon_id"]]  # the wx.request adapter reads the same wallet
    assert seen["refusal"] == "not_found"
    assert any(f.startswith("lat") for f in seen["fields"]), seen["fields"]
    assert seen["request_id"] and seen["wx_request_id"]

