"""Re-adopt retained tables after a teardown:

    python -m infra.import_tables --stage prod --out build/prod-import

Prod tables have `DeletionPolicy: Retain` and fixed names (the prefix from
.chalice/config.json plus the model's base name), so data survives
`delete-stack`; a plain redeploy would then fail ("already exists"). Instead,
create the stack from an IMPORT change set with this resources-to-import file
(docs/deploy.md, "Redeploy after a teardown"): CloudFormation takes the
existing tables over, under the same names, with their data. An IMPORT
change set may only contain the resources it imports, so this writes two
files: `resources.json` and `tables-template.json` (the tables of the packaged
`build/<stage>/sam.json`, nothing else); the full template follows as a
normal update."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.db import all_models
from infra.build import ROOT, stage_config
from infra.template import _camel


def resources_to_import(stage: str) -> list[dict[str, object]]:
    prefix = stage_config(stage).get("environment_variables", {}).get("STORELOOP_TABLE_PREFIX", "storeloop-dev-")
    return [{"ResourceType": "AWS::DynamoDB::Table",
             "LogicalResourceId": f"Table{_camel(model.BASE_NAME)}",  # type: ignore[attr-defined]
             "ResourceIdentifier": {"TableName": prefix + model.BASE_NAME}}  # type: ignore[attr-defined]
            for model in all_models()]


def tables_template(packaged: dict[str, Any]) -> dict[str, Any]:
    tables = {k: v for k, v in packaged["Resources"].items() if v.get("Type") == "AWS::DynamoDB::Table"}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": tables}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--out", type=Path, help="directory for resources.json and tables-template.json")
    args = parser.parse_args()
    out: Path = args.out or ROOT / "build" / f"{args.stage}-import"
    packaged = ROOT / "build" / args.stage / "sam.json"
    if not packaged.exists():
        raise SystemExit(f"{packaged} missing: run `make package STAGE={args.stage}` first")
    out.mkdir(parents=True, exist_ok=True)
    (out / "resources.json").write_text(json.dumps(resources_to_import(args.stage), indent=2))
    (out / "tables-template.json").write_text(json.dumps(tables_template(json.loads(packaged.read_text())),
                                                         indent=2, ensure_ascii=False))
    print(f"wrote {out / 'resources.json'} and {out / 'tables-template.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
