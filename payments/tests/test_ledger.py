"""The ledger's own guarantees: balanced journals, unique keys, no negative balances,
append-only rows - in code and, on PostgreSQL, in the database."""
import pytest
from django.db import IntegrityError, connection, transaction

from conftest import client_for
from payments import ledger
from payments.enums import JournalKind
from payments.models import Entry, Journal, LedgerAccount

from .factories import make_requester, make_staff, make_worker

pytestmark = pytest.mark.django_db


def _org_ref():
    requester = make_requester()
    return ledger.organization_available(requester.membership.organization.pk)


def _credit(ref, cents, key="credit:1"):
    return ledger.post_journal(key=key, kind=JournalKind.MANUAL_CREDIT,
                               lines=[(ledger.EXTERNAL_FUNDING, -cents), (ref, cents)])


def test_posting_moves_cached_balances_and_writes_balanced_entries():
    org = _org_ref()

    journal = _credit(org, 500)

    assert ledger.balance_of(org) == 500
    assert ledger.balance_of(ledger.EXTERNAL_FUNDING) == -500
    assert sorted(journal.entries.values_list("amount_cents", flat=True)) == [-500, 500]


def test_unbalanced_lines_are_refused_and_nothing_is_written():
    org = _org_ref()

    with pytest.raises(ledger.LedgerError):
        ledger.post_journal(key="bad", kind=JournalKind.MANUAL_CREDIT,
                            lines=[(ledger.EXTERNAL_FUNDING, -500), (org, 499)])

    assert not Journal.objects.exists()
    assert not Entry.objects.exists()


def test_an_internal_account_never_goes_negative():
    org = _org_ref()
    _credit(org, 100)
    worker = make_worker()

    with pytest.raises(ledger.InsufficientFunds) as refused:
        ledger.post_journal(key="bonus:x", kind=JournalKind.BONUS,
                            lines=[(org, -101), (ledger.worker_pending(worker.pk), 101)])

    assert refused.value.shortfall_cents == 1
    assert ledger.balance_of(org) == 100
    assert Journal.objects.count() == 1


def test_many_journals_post_together_each_balanced_with_its_causes():
    org = _org_ref()
    _credit(org, 100)
    worker = make_worker()
    pending = ledger.worker_pending(worker.pk)

    journals = ledger.post_journals([
        ledger.Posting(key="bonus:a", kind=JournalKind.BONUS, lines=[(org, -60), (pending, 60)],
                       memo="first", causes={"worker": worker}),
        ledger.Posting(key="bonus:b", kind=JournalKind.BONUS, lines=[(org, -40), (pending, 40)],
                       causes={"worker_id": worker.pk})])

    assert [journal.key for journal in journals] == ["bonus:a", "bonus:b"]
    assert ledger.balance_of(org) == 0
    assert ledger.balance_of(pending) == 100
    stored = {journal.key: journal for journal in Journal.objects.filter(kind=JournalKind.BONUS)}
    assert {key: (journal.pk, journal.memo, journal.worker_id)
            for key, journal in stored.items()} == {
        "bonus:a": (journals[0].pk, "first", worker.pk),
        "bonus:b": (journals[1].pk, "", worker.pk)}
    assert sorted(Entry.objects.filter(journal=journals[1])
                  .values_list("amount_cents", flat=True)) == [-40, 40]


def test_a_later_posting_that_would_overdraw_refuses_the_whole_batch():
    org = _org_ref()
    _credit(org, 100)
    pending = ledger.worker_pending(make_worker().pk)

    with pytest.raises(ledger.InsufficientFunds) as refused:
        ledger.post_journals([
            ledger.Posting(key="bonus:a", kind=JournalKind.BONUS,
                           lines=[(org, -60), (pending, 60)]),
            ledger.Posting(key="bonus:b", kind=JournalKind.BONUS,
                           lines=[(org, -41), (pending, 41)])])

    assert (refused.value.balance_cents, refused.value.shortfall_cents) == (40, 1)
    assert ledger.balance_of(org) == 100
    assert Journal.objects.count() == 1


def test_a_journal_key_is_posted_once():
    org = _org_ref()
    _credit(org, 100, key="credit:same")

    with pytest.raises(IntegrityError), transaction.atomic():
        _credit(org, 100, key="credit:same")

    assert ledger.balance_of(org) == 100


def test_the_database_refuses_a_negative_internal_balance():
    org = _org_ref()
    _credit(org, 100)

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(key=org.key).update(balance_cents=-1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")
def test_the_database_refuses_an_unbalanced_journal_at_commit():
    org = _org_ref()
    account = ledger.lock_accounts([org])[org.key]

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        journal = Journal.objects.create(key="raw", kind=JournalKind.MANUAL_CREDIT)
        Entry.objects.create(journal=journal, account=account, amount_cents=5)
        with connection.cursor() as cursor:  # what COMMIT would do
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")
@pytest.mark.parametrize("table", ["payments_entry", "payments_journal"])
def test_the_database_refuses_to_change_or_delete_ledger_rows(table):
    _credit(_org_ref(), 100)

    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_ledger_check_proves_the_books(api_client):
    org = _org_ref()
    _credit(org, 700)
    staff = make_staff()

    response = client_for(staff).get("/api/v1/admin/ledger/check")

    assert response.status_code == 200
    assert response.json() == {"journals": 1, "entries": 2, "sum_cents": 0,
                               "negative_balances": 0, "unbalanced_journals": 0,
                               "journals_without_entries": 0, "balance_mismatches": 0,
                               "ok": True}


def test_ledger_check_notices_a_cached_balance_that_disagrees_with_its_entries():
    org = _org_ref()
    _credit(org, 700)
    LedgerAccount.objects.filter(key=org.key).update(balance_cents=650)

    response = client_for(make_staff()).get("/api/v1/admin/ledger/check")

    assert response.json()["balance_mismatches"] == 1
    assert response.json()["ok"] is False


def test_ledger_check_is_for_staff_only():
    requester = make_requester()

    assert client_for(requester).get("/api/v1/admin/ledger/check").status_code == 403
