"""Write the API's OpenAPI document (what `/openapi.json` serves) to a file
or stdout, without a server: `python -m devtools.export_openapi [PATH]`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("STORELOOP_JWT_SECRET", "x" * 48)  # settings need one; nothing is signed
    from chalicelib.openapi import build_openapi  # imports every capability's routes (web.all_routes)

    text = json.dumps(build_openapi(), indent=2, ensure_ascii=False)
    if args:
        Path(args[0]).write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
