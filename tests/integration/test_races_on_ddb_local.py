"""The review fixes' interleavings again on DynamoDB Local (the functional
tests run them on moto): the slot index filed out of order, a wrong short-code
guess whose answer is lost, and two seeders starting one ledger. The same
test functions, with this folder's `api` fixture (DynamoDB Local)."""

from __future__ import annotations

import pytest

from tests.functional.test_short_code_lookup import (
    test_a_wrong_guess_whose_answer_is_lost_is_counted_once_also_when_the_request_is_retried,
)
from tests.functional.test_slot_index_order import (
    test_a_late_refile_of_an_older_save_does_not_replace_the_newer_saves_items,
    test_a_same_version_refile_replaces_and_a_bulk_keeps_each_stores_newest,
    test_an_older_save_arriving_late_does_not_replace_the_store,
)
from tests.functional.test_store_seed import (
    test_a_second_seeder_that_read_no_ledger_does_not_start_one_over_the_first_seeders,
)

pytestmark = [pytest.mark.integration]

__all__ = [
    "test_a_late_refile_of_an_older_save_does_not_replace_the_newer_saves_items",
    "test_a_same_version_refile_replaces_and_a_bulk_keeps_each_stores_newest",
    "test_a_second_seeder_that_read_no_ledger_does_not_start_one_over_the_first_seeders",
    "test_a_wrong_guess_whose_answer_is_lost_is_counted_once_also_when_the_request_is_retried",
    "test_an_older_save_arriving_late_does_not_replace_the_store",
]
