"""A large upload refreshes the planner's statistics of the item and task tables after
its commit (a small one leaves that to autovacuum): with the old row counts PostgreSQL
planned the claim and the submit with sequential scans of the item table."""
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flows.imports import import_items
from marketplace.services import planner_statistics_refresh, project_create
from marketplace.services.imports import PLANNER_STATISTICS_AFTER_ROWS
from marketplace.uploads import UploadRow
from workers.tests.factories import project_fields

pytestmark = pytest.mark.django_db


def rows(count: int) -> list[UploadRow]:
    return [UploadRow(row=i + 1, external_id=None, data={"text": f"t{i}"}, answer=None,
                      has_answer=False) for i in range(count)]


@pytest.mark.parametrize("count, refreshed", [
    (PLANNER_STATISTICS_AFTER_ROWS - 1, False), (PLANNER_STATISTICS_AFTER_ROWS, True)])
def test_only_a_large_upload_refreshes_statistics_after_its_commit(
        requester, django_capture_on_commit_callbacks, count, refreshed):
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=project_fields(items_per_task=1))
    with mock.patch("marketplace.tasks.planner_statistics_refresh") as refresh:
        with django_capture_on_commit_callbacks(execute=True):
            import_items(project=project, actor=requester, rows=rows(count), is_gold=False)
            refresh.assert_not_called()  # not inside the import's transaction
    assert refresh.called is refreshed


def test_the_refresh_analyzes_the_item_and_task_tables():
    with CaptureQueriesContext(connection) as captured:
        planner_statistics_refresh()  # inside the test's transaction: allowed on both
    assert [query["sql"] for query in captured.captured_queries] == [
        f"ANALYZE {connection.ops.quote_name(table)}"
        for table in ("marketplace_item", "marketplace_task")]
