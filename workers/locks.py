"""Row locks of the workers app. Order: WorkerProfile -> WorkerApplication -> ExamAttempt.
(Relative to marketplace: Project locks come first, see marketplace/locks.py.)"""
from .models import ExamAttempt, WorkerApplication, WorkerProfile


def worker_for_update(*, worker_id: int) -> WorkerProfile:
    return WorkerProfile.objects.select_for_update(no_key=True).get(pk=worker_id)


def application_for_update(*, application_id: int) -> WorkerApplication:
    return WorkerApplication.objects.select_for_update(no_key=True).get(pk=application_id)


def exam_attempt_for_update(*, attempt_id: int) -> ExamAttempt:
    return ExamAttempt.objects.select_for_update(no_key=True).get(pk=attempt_id)
