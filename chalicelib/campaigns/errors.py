"""Campaign refusals, each with its contract code."""

from __future__ import annotations

from chalicelib.errors import Conflict


class PostNotRetryable(Conflict):
    code, default_message = "not_retryable", "only a failed post can be retried"
