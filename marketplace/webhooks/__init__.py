"""Requester webhooks: subscriptions, signed deliveries with retries, and the emit API.

Kept import-free: marketplace/models.py imports ``.enums`` from here, so this package must
not import models at load time.
"""
