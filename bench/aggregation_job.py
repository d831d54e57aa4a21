"""Benchmark: CPU and statements per task of the Celery side of the cycle (aggregation),
beside the bare aggregation of the same labels in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_perf_bench \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/aggregation_job.py

In-process, no HTTP: for each variant a fresh project of bench/cycle.py's shape (one item
per task, overlap 3, single choice) gets BENCH_AGG_TASKS tasks labelled by three workers
through the real claim and submit services (two always answer "positive", one answers at
random, seeded), with the aggregation requests held back; one task more stays leased,
so that the project does not complete. Then the tasks are aggregated:

- ``per_task``: ``flows.results.aggregate_task`` once per task, in id order (what one job
  per task did, with perfect coalescing: no job on a task that was not ready yet);
- ``job``: the tasks requested through ``flows.results.aggregation_request`` in groups
  of BENCH_AGG_REQUESTS_PER_JOB, the Celery job that drains the requests run after each
  group, as a worker process would run it (requests included in the figures);
- ``baseline``: ``qa.aggregation.aggregate`` called once per task on the labels and
  worker records already in memory (the numpy layer below, no database).

CPU is this process's (``time.process_time``); statements are counted by a
``connection.execute_wrapper``. One JSON line. The database is dropped and created afresh (its
name must contain "bench"); the Redis db is flushed.
"""
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cycle  # noqa: E402  (bench/cycle.py: database, Redis and data helpers)

TASKS = int(os.environ.get("BENCH_AGG_TASKS", "300"))
# Tasks requested between two runs of the drain job: under a steady stream of submits a
# job finds what arrived while the previous one ran (a few tasks), not a backlog.
REQUESTS_PER_JOB = int(os.environ.get("BENCH_AGG_REQUESTS_PER_JOB", "5"))


def label_project(requester, workers, holder, name: str):
    """A project whose every task holds three submitted labels and no aggregation yet;
    returns (project, task ids)."""
    from flows import work
    from marketplace.services import assignment_claim

    requested = []
    held_back = work.aggregation_request
    work.aggregation_request = lambda *, task_id: requested.append(task_id)
    draw = random.Random(7)
    try:
        # One task more, held by a fourth worker who never submits: the project never
        # completes, as a long one does not (completion and refinement are not measured).
        project = cycle.make_project(requester, name, tasks=TASKS + 1)
        assignment_claim(worker=holder, project_id=project.pk)
        for index, (profile, _) in enumerate(workers):
            while (assignment := assignment_claim(worker=profile,
                                                  project_id=project.pk)) is not None:
                from marketplace.models import Answer

                value = ("positive" if index < 2
                         else draw.choice(["positive", "negative", "neutral"]))
                work.submit(assignment_id=assignment.pk, worker=profile, answers=[
                    {"item_id": answer_id, "value": value}
                    for answer_id in Answer.objects.filter(assignment=assignment)
                    .values_list("pk", flat=True)])
    finally:
        work.aggregation_request = held_back
    return project, sorted(set(requested))  # the held task is never requested


def measured(action) -> dict:
    from django.db import connection

    statements = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        cpu, wall = time.process_time(), time.perf_counter()
        action()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "statements": statements[0]}


def per_task_figures(figures: dict, tasks: int) -> dict:
    return {**figures, "tasks": tasks,
            "cpu_ms_per_task": round(figures["cpu_s"] * 1000 / tasks, 3),
            "wall_ms_per_task": round(figures["wall_s"] * 1000 / tasks, 3),
            "statements_per_task": round(figures["statements"] / tasks, 2)}


def cancel_if_active(requester, project) -> None:
    project.refresh_from_db()
    if project.status == "active":
        cycle.project_cancel(requester, project)


def unfinished(project) -> int:
    from marketplace.models import Item

    return Item.objects.filter(project=project, finalized_at__isnull=True).count()


def bare_aggregation(project, task_ids: list[int]) -> None:
    """The numpy layer alone: labels and records loaded first, then aggregate per task."""
    from marketplace.models import Answer
    from qa.aggregation import Annotation, WorkerQuality, aggregate
    from qa.models import WorkerProjectStats

    labels: dict[int, list] = {}
    for task_id, item_id, worker_id, value in Answer.objects.filter(
            assignment__project=project, is_gold=False,
            assignment__submitted_at__isnull=False).values_list(
            "item__task_id", "item_id", "assignment__worker_id", "value"):
        labels.setdefault(task_id, []).append(Annotation(item_key=item_id,
                                                         worker_key=worker_id, value=value))
    records = {row.worker_id: WorkerQuality(gold_seen=row.gold_seen,
                                            gold_correct=row.gold_correct, confusion=None)
               for row in WorkerProjectStats.objects.filter(project=project)}

    def run():
        for task_id in task_ids:
            annotations = labels[task_id]
            aggregate(project.task_type, project.label_config, annotations,
                      {a.worker_key: records.get(a.worker_key) or WorkerQuality(0, 0, None)
                       for a in annotations})

    return run


def main() -> None:
    cycle.stop_on_sigterm()
    cycle.setup_django()
    from flows import results

    run = "agg"
    requester = cycle.make_requester(run)
    *workers, first_holder, second_holder = [
        profile for profile, _ in cycle.make_workers(run, 5)]
    workers = [(profile, None) for profile in workers]
    load = os.getloadavg()

    project, task_ids = label_project(requester, workers, first_holder, "per task")
    per_task = per_task_figures(measured(
        lambda: [results.aggregate_task(task_id=task_id) for task_id in task_ids]),
        len(task_ids))
    per_task["left_unfinished"] = unfinished(project) - 1
    baseline = per_task_figures(measured(bare_aggregation(project, task_ids)),
                                len(task_ids))
    cancel_if_active(requester, project)

    project, task_ids = label_project(requester, workers, second_holder, "job")

    def drain():
        # Requests arrive in groups; each group's first request enqueues the job (run
        # here as the worker process would), the others find it queued.
        jobs = []
        enqueue = results.aggregate_pending_job.apply_async
        results.aggregate_pending_job.apply_async = lambda **options: jobs.append(1)
        try:
            for start in range(0, len(task_ids), REQUESTS_PER_JOB):
                for task_id in task_ids[start:start + REQUESTS_PER_JOB]:
                    results.aggregation_request(task_id=task_id)
                while jobs:
                    jobs.pop()
                    results.aggregate_pending_job.run()
        finally:
            results.aggregate_pending_job.apply_async = enqueue

    job = per_task_figures(measured(drain), len(task_ids))
    job["left_unfinished"] = unfinished(project) - 1
    cancel_if_active(requester, project)
    cycle.flush_redis()
    print(json.dumps({
        "bench": "aggregation_job", "load_average_before": [round(x, 2) for x in load],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "per_task": per_task, "job": {**job, "requests_per_job": REQUESTS_PER_JOB},
        "baseline_bare_aggregate": baseline,
        "ratio_job_cpu_vs_baseline": round(job["cpu_s"] / baseline["cpu_s"], 1)
        if baseline["cpu_s"] else None,
    }), flush=True)


if __name__ == "__main__":
    main()
