"""The coupon functional suite again, on DynamoDB Local instead of moto: the
same contract must hold on the real engine (conditions, transactions, GSIs)."""

from __future__ import annotations

import pytest

from tests.functional.test_coupons_api import *  # noqa: F403  (tests and their fixtures)

pytestmark = pytest.mark.integration
