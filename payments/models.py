"""Ledger, funding, escrow, earnings and payouts arrive with the payments issue."""
