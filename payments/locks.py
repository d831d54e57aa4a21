"""Row locks of the payments app.

Global order: Project -> Task -> Assignment -> payments rows (TopUp, Payout, Earning)
-> ledger accounts (by pk, see ledger.lock_accounts). Approval payments run inside the
marketplace's review transaction, which holds Task and Assignment, so nothing here ever
locks a Project or Task after a payments row or a ledger account.
"""
from .models import TopUp


def topup_for_update(*, topup_id: int) -> TopUp:
    return TopUp.objects.select_for_update(no_key=True).get(pk=topup_id)
