"""Build a deployable stack for a stage:

    python -m infra.build --stage prod [--out build/prod] [--lint]

1. writes the merge template (infra/template.py) for the stage,
2. runs `chalice package --merge-template` (SAM template + deployment.zip),
3. drops from the zip what the Lambda Python runtime already provides
   (boto3, botocore and their dependencies),
4. adds the `/docs` page's Swagger UI assets from node_modules,
5. adds bytecode (.pyc, unchecked-hash) for every module in the zip: /var/task
   is read-only, so without it every cold start compiles every module it
   imports, ours and the dependencies' (docs/cold_start.md),
6. with --lint, runs cfn-lint and `sam validate --lint` (the SAM CLI lives in
   .venv-sam, see requirements-sam.txt) on the result, and prints the sizes.
Deploy the output with `sam deploy` or `aws cloudformation package/deploy`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# In the Lambda Python runtime already; shipping them only slows cold starts.
SAM_CLI = ROOT / ".venv-sam" / "bin" / "sam"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def stage_config(stage: str) -> dict[str, Any]:
    """Chalice semantics: top-level keys, overridden by the stage's."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        raise SystemExit(f"unknown stage {stage!r}; stages: {', '.join(config['stages'])}")
    merged = {k: v for k, v in config.items() if k != "stages"}
    merged.update(config["stages"][stage])
    return merged


def strip_runtime_packages(zip_path: Path) -> tuple[int, int]:
    before = zip_path.stat().st_size
    kept = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(kept, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            top = item.filename.split("/", 1)[0]
            package = top.split("-", 1)[0].replace("python_", "")  # e.g. python_dateutil-2.9.dist-info
            if package in RUNTIME_PROVIDED:
                continue
            dst.writestr(item, src.read(item.filename))
    kept.replace(zip_path)
    return before, zip_path.stat().st_size


def add_bytecode(zip_path: Path) -> int:
    """Compile every module in the zip into its `__pycache__` (the tag of
    this interpreter: chalice package targets the Lambda runtime of the
    Python it runs under). Unchecked-hash .pyc: valid whatever the file
    times after Lambda unpacks the zip. Returns the bytes added."""
    import compileall
    import py_compile
    import tempfile

    before = zip_path.stat().st_size
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as src:
            src.extractall(root)
            names = set(src.namelist())
        compileall.compile_dir(str(root), quiet=2, ddir="/var/task", workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as dst:
            for pyc in sorted(root.rglob("*.pyc")):
                name = pyc.relative_to(root).as_posix()
                if name not in names:
                    dst.write(pyc, name)
    return zip_path.stat().st_size - before


def vendor_docs_assets(zip_path: Path) -> int:
    """Swagger UI for `/docs` (chalicelib/apidocs.py), from node_modules into the zip."""
    from chalicelib.apidocs import ASSETS, NODE_MODULES

    added = 0
    with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as dst:
        for name in ASSETS:
            source = NODE_MODULES / name
            if not source.exists():
                raise SystemExit(f"{source} missing: run `npm install` (make deps) before packaging")
            dst.write(source, f"chalicelib/vendor/swagger-ui/{name}")
            added += source.stat().st_size
    return added


def build(stage: str, out: Path, lint: bool) -> dict[str, Any]:
    config = stage_config(stage)
    stage_env = {k: str(v) for k, v in config.get("environment_variables", {}).items()}
    saved = dict(os.environ)
    os.environ.update(stage_env)  # the app reads its queue name at import, as Chalice will
    try:
        sys.path.insert(0, str(ROOT))
        from app import app
        from infra.template import build_merge_template

        merge = build_merge_template(app, stage, config)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out.mkdir(parents=True, exist_ok=True)
    merge_path = out.parent / f"{out.name}-merge.json"
    merge_path.write_text(json.dumps(merge, indent=2, ensure_ascii=False))
    chalice = Path(sys.executable).with_name("chalice")
    env = {**os.environ, **stage_env, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "ap-east-1")}
    subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template", str(merge_path), str(out)],
                   cwd=ROOT, env=env, check=True)
    before, _ = strip_runtime_packages(out / "deployment.zip")
    vendor_docs_assets(out / "deployment.zip")
    bytecode = add_bytecode(out / "deployment.zip")
    after = (out / "deployment.zip").stat().st_size
    report = {"stage": stage, "template": str(out / "sam.json"), "zip_bytes_chalice": before, "zip_bytes": after,
              "bytecode_bytes": bytecode}
    if lint:
        done = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(out / "sam.json")],
                              capture_output=True, text=True)
        report["cfn_lint"] = done.stdout.strip() or "clean"
        if done.returncode != 0:
            raise SystemExit(f"cfn-lint found problems:\n{done.stdout}{done.stderr}")
        report["sam_validate"] = sam_validate(out / "sam.json")
    return report


def sam_validate(template: Path) -> str:
    if not SAM_CLI.exists():
        raise SystemExit(f"{SAM_CLI} missing: `make deps` installs the SAM CLI (requirements-sam.txt)")
    # validation is offline; the SAM CLI still wants a region and no telemetry
    env = {"AWS_DEFAULT_REGION": "ap-east-1", "AWS_ACCESS_KEY_ID": "validate", "AWS_SECRET_ACCESS_KEY": "validate",
           **os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run([str(SAM_CLI), "validate", "--lint", "--template-file", str(template)],
                          capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"sam validate --lint found problems:\n{done.stdout}{done.stderr}")
    return (done.stdout + done.stderr).strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--lint", action="store_true")
    args = parser.parse_args()
    report = build(args.stage, args.out or ROOT / "build" / args.stage, args.lint)
    print(f"stage {report['stage']}: {report['template']}")
    print(f"deployment.zip {report['zip_bytes'] / 1e6:.1f} MB "
          f"(chalice's {report['zip_bytes_chalice'] / 1e6:.1f} MB less the runtime's boto3/botocore, "
          f"plus {report['bytecode_bytes'] / 1e6:.1f} MB of .pyc)")
    if "cfn_lint" in report:
        print(f"cfn-lint: {report['cfn_lint']}")
        print(f"sam validate --lint: {report['sam_validate']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
