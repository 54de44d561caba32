"""Interactive API docs at `/docs`: Swagger UI from the npm package
`swagger-ui-dist` (pinned in package.json), served by the API itself; no CDN.

Where the assets come from: `chalicelib/vendor/swagger-ui/` inside the Lambda
zip (infra/build.py copies them there from node_modules when packaging; they
are not in git), else `node_modules/swagger-ui-dist/` of the checkout (local
runs and tests). ~1.9 MB uncompressed, well inside Lambda's 6 MB response."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from chalicelib.errors import NotFound

ASSETS = {"swagger-ui-bundle.js": "application/javascript; charset=utf-8",
          "swagger-ui.css": "text/css; charset=utf-8"}
VENDORED = Path(__file__).resolve().parent / "vendor" / "swagger-ui"
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules" / "swagger-ui-dist"

# Relative URLs, so the page works under a stage prefix (/api/docs) as at /docs.
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Storeloop API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true,
                                 displayOperationId: true, persistAuthorization: false});
  </script>
</body>
</html>
"""


def asset_dir() -> Path:
    for candidate in (VENDORED, NODE_MODULES):
        if (candidate / "swagger-ui-bundle.js").exists():
            return candidate
    raise NotFound("API docs assets are not installed (npm install; infra/build.py vendors them)")


@cache
def asset(name: str) -> tuple[str, str]:
    """(body, content type) of a Swagger UI asset."""
    if name not in ASSETS:
        raise NotFound("no such docs asset")
    return (asset_dir() / name).read_text(encoding="utf-8"), ASSETS[name]
