"""Row locks of the payments app: payments rows (TopUp, Payout, Earning) come after the
marketplace's and qa's rows and before ledger accounts (by pk, ledger.lock_accounts) in
the system order (config/lock_order.py). Approvals are paid inside the deciding flow,
which holds Task and Assignment already, so nothing here ever locks a Project or Task.
"""
from .models import TopUp


def topup_for_update(*, topup_id: int) -> TopUp:
    return TopUp.objects.select_for_update(no_key=True).get(pk=topup_id)
