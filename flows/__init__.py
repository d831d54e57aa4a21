"""Application flows: every use case that crosses apps, written once, top to bottom.

Views, admin actions and Celery jobs call these; the apps' services each write only their
own rows. Read a flow to follow a use case end to end:

- ``work``: submit (its gold graded and counted inside it), return, lease expiry (a claim
  and a heartbeat stay marketplace's own).
- ``decisions``: approve, reject, review verdict, dispute resolution, auto-approval.
- ``results``: grade (what the submit left: long free text) -> aggregate, requested once
  per task while queued -> finalise (dynamic overlap, late decisions revising announced
  results), project completion and refinement, the recovery sweep.
- ``projects``: launch, resume, cancel (the project's status with its escrow).
- ``imports``: item uploads (inline and background) and the automation that follows them.
- ``automation``: predictions, auto-accept with spot checks and its gate, the built-in model.
- ``prediction_endpoints``: the requester's model server, sent batches of items to predict.

Transactions: each flow runs in one transaction (the request's own when an
Idempotency-Key wraps the view, so the key's record commits with the work) and locks in
the single system order written in config/lock_order.py; Celery jobs are enqueued only
after commit, here.
"""
