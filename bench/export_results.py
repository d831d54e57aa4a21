"""Benchmark: the results export of 1,000,000 labelled items, streamed in constant memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_perf_bench \\
        .venv/bin/python bench/export_results.py

Seeds (server-side, INSERT ... SELECT) a project of BENCH_EXPORT_ITEMS items (default
1,000,000) in tasks of 100, each task answered by 3 workers, every item with a result
and a confidence: 3 annotations per item. Then, each in a fresh Python process so its
peak RSS is its own:

- ``ours``: GET /api/v1/projects/{id}/results?format=jsonl through Django's request
  stack (authentication, the view, StreamingHttpResponse), the body consumed chunk by
  chunk and thrown away;
- ``ours_small``: the same on a tenth of the items (a second project): constant memory
  means the two peak RSS figures are about the same;
- ``baseline``: the layer below - psycopg streaming the same items and annotations
  (one query per 1,000 items, as the export reads them) and writing the same JSON lines
  with the standard library, no Django.

One JSON line each: seconds, items/s, bytes, peak RSS (MiB) and RSS growth over the
process's own start-up; then the ratio ours/baseline. The database is dropped and
created afresh (its name must contain "bench"). Only 127.0.0.1.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent
ITEMS = int(os.environ.get("BENCH_EXPORT_ITEMS", "1000000"))
ITEMS_PER_TASK = 100
OVERLAP = 3


def rss_mib() -> float:
    """This process's peak RSS so far. VmHWM, not getrusage's ru_maxrss: that one
    keeps the parent's peak across fork + exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def seed(requester, workers, items: int, name: str) -> int:
    """A project whose every item is labelled by 3 workers and has a result."""
    from django.db import connection

    from marketplace.services import project_create
    from marketplace.services.pseudonyms import pseudonym_value

    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields={
        "name": name, "instructions": "Pick the sentiment.", "task_type": "single_choice",
        "label_config": {"choices": ["positive", "negative", "neutral"]},
        "domain": "languages", "sensitivity": "public", "pay_model": "per_task",
        "reward_cents": 5, "items_per_task": ITEMS_PER_TASK, "overlap": OVERLAP})
    tasks = -(-items // ITEMS_PER_TASK)
    worker_ids = [profile.pk for profile, _token in workers]
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO marketplace_task (project_id, overlap, status, created_at, filled)
            SELECT %s, %s, 'complete', now(), %s FROM generate_series(1, %s)""",
                       [project.pk, OVERLAP, OVERLAP, tasks])
        cursor.execute("""
            INSERT INTO marketplace_item (project_id, task_id, external_id, data, is_gold,
                                          result, confidence, finalized_at, created_at,
                                          revision, sensitivity, pii_types, pii_spans)
            SELECT %(project)s, t.id, 'ext-' || t.id || '-' || n,
                   jsonb_build_object('text', 'Review ' || n || ' of task ' || t.id),
                   false, '"positive"'::jsonb, 0.93, now(), now(), 1, 'public', '{}', '[]'
            FROM marketplace_task t CROSS JOIN generate_series(1, %(per_task)s) n
            WHERE t.project_id = %(project)s""",
                       {"project": project.pk, "per_task": ITEMS_PER_TASK})
        cursor.execute("""
            INSERT INTO marketplace_assignment (status, created_at, expires_at,
                last_heartbeat_at, active_seconds, review_reason, review_reason_code,
                reward_cents, submitted_at, instructions_version, project_id, task_id,
                worker_id)
            SELECT 'approved', now(), now(), now(), 30, '', '', 5, now(), 1, %s, t.id, w
            FROM marketplace_task t CROSS JOIN unnest(%s::bigint[]) w
            WHERE t.project_id = %s""", [project.pk, worker_ids, project.pk])
        cursor.execute("""
            INSERT INTO marketplace_answer (position, is_gold, value, item_id, assignment_id)
            SELECT row_number() OVER (PARTITION BY a.id ORDER BY i.id) - 1, false,
                   CASE WHEN (i.id + a.worker_id) %% 5 = 0 THEN '"negative"'::jsonb
                        ELSE '"positive"'::jsonb END, i.id, a.id
            FROM marketplace_assignment a JOIN marketplace_item i ON i.task_id = a.task_id
            WHERE a.project_id = %s""", [project.pk])
        cursor.executemany(
            "INSERT INTO marketplace_workerpseudonym (project_id, worker_id, pseudonym) "
            "VALUES (%s, %s, %s)",
            [(project.pk, worker_id, pseudonym_value(project.pk, worker_id))
             for worker_id in worker_ids])
        cursor.execute("ANALYZE")
    return project.pk


def run_ours(project_id: int, token: str) -> dict:
    """Child process: the export through Django's request stack."""
    import django

    django.setup()
    from django.test import Client

    started_rss = rss_mib()
    client = Client()
    began = time.perf_counter()
    response = client.get(f"/api/v1/projects/{project_id}/results",
                          {"format": "jsonl"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 2), "items": lines, "bytes": size,
            "items_per_s": round(lines / seconds), "peak_rss_mib": rss_mib(),
            "rss_growth_mib": round(rss_mib() - started_rss, 1)}


def run_baseline(project_id: int) -> dict:
    """Child process: psycopg and the standard library only."""
    import psycopg

    started_rss = rss_mib()
    began = time.perf_counter()
    size = lines = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        last = 0
        while True:
            items = connection.execute(
                "SELECT id, external_id, result, confidence FROM marketplace_item "
                "WHERE project_id = %s AND NOT is_gold AND id > %s ORDER BY id LIMIT 1000",
                [project_id, last]).fetchall()
            if not items:
                break
            last = items[-1][0]
            annotations: dict[int, list] = {}
            for item_id, pseudonym, value in connection.execute("""
                    SELECT an.item_id, p.pseudonym, an.value
                    FROM marketplace_answer an
                    JOIN marketplace_assignment a ON a.id = an.assignment_id
                    LEFT JOIN marketplace_workerpseudonym p
                      ON p.project_id = a.project_id AND p.worker_id = a.worker_id
                    WHERE an.item_id = ANY(%s) AND NOT an.is_gold
                      AND a.status IN ('submitted', 'approved')
                    ORDER BY an.item_id, an.assignment_id""", [[row[0] for row in items]]):
                annotations.setdefault(item_id, []).append({"worker_id": pseudonym,
                                                            "value": value})
            for item_id, external_id, result, confidence in items:
                line = json.dumps({"item_id": item_id, "external_id": external_id,
                                   "result": result, "confidence": confidence,
                                   "annotations": annotations.get(item_id, [])},
                                  ensure_ascii=False) + "\n"
                size += len(line.encode())
                lines += 1
    seconds = time.perf_counter() - began
    return {"seconds": round(seconds, 2), "items": lines, "bytes": size,
            "items_per_s": round(lines / seconds), "peak_rss_mib": rss_mib(),
            "rss_growth_mib": round(rss_mib() - started_rss, 1)}


def child(kind: str, project_id: int, token: str) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(project_id), token],
        cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=1800)
    if output.returncode:
        raise RuntimeError(output.stderr[-2000:])
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    import cycle

    started = time.perf_counter()
    cycle.setup_django()
    from accounts.services import token_issue

    requester = cycle.make_requester("export")
    workers = cycle.make_workers("export", OVERLAP)
    token = token_issue(user=requester).token
    began = time.perf_counter()
    big = seed(requester, workers, ITEMS, "export big")
    small = seed(requester, workers, max(ITEMS // 10, ITEMS_PER_TASK), "export small")
    seed_seconds = time.perf_counter() - began
    ours = child("ours", big, token)
    ours_small = child("ours", small, token)
    baseline = child("baseline", big, token)
    for name, figures in (("ours", ours), ("ours_small", ours_small),
                          ("baseline", baseline)):
        print(json.dumps({"bench": "export_results", "path": name, **figures}), flush=True)
    print(json.dumps({
        "bench": "export_results", "summary": True, "items": ITEMS,
        "annotations_per_item": OVERLAP,
        "baseline": "psycopg + json.dumps, same queries per 1,000 items, no Django",
        "ratio_speed_ours_vs_baseline": round(baseline["seconds"] / ours["seconds"], 3),
        "peak_rss_growth_mib_1x_vs_tenth": [ours["rss_growth_mib"],
                                            ours_small["rss_growth_mib"]],
        "constant_memory": ours["rss_growth_mib"] <= ours_small["rss_growth_mib"] + 32,
        "complete": ours["items"] == ITEMS,
        "seed_seconds": round(seed_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ["CELERY_BROKER_URL"] = ""
        os.environ.pop("REDIS_URL", None)
        os.environ["LOG_LEVEL"] = "WARNING"
        sys.path.insert(0, str(ROOT))
        kind, project_id, token = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        result = run_ours(project_id, token) if kind == "ours" else run_baseline(project_id)
        print(json.dumps(result), flush=True)
    else:
        main()
