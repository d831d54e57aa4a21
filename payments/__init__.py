"""Payments: double-entry ledger (ledger.py), Stripe funding, escrow, earnings and bonuses,
payouts through Stripe Connect or a manual provider (providers.py), statements."""
