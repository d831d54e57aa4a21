"""Versioned instructions: a launched project's edit makes a new version; assignments are
stamped with the version they were served; the worker sees the diff once; results,
item.finalized and gold accuracy can be read per version."""
from marketplace.models import Assignment, ProjectInstructions
from marketplace.services import project_create
from workers.tests.factories import project_fields

from .helpers import claim, cleared_worker, launched_project, submit


def patch_instructions(client, project_id, text):
    response = client.patch(f"/api/v1/projects/{project_id}", {"instructions": text},
                            format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_draft_edits_rewrite_version_one(requester, requester_client):
    project = project_create(organization=requester.membership.organization,
                             actor=requester, fields=project_fields())

    body = patch_instructions(requester_client, project.pk, "Pick the overall sentiment.")

    assert body["instructions_version"] == 1
    assert list(ProjectInstructions.objects.filter(project=project).values_list(
        "version", "instructions")) == [(1, "Pick the overall sentiment.")]


def test_versions_are_stamped_diffed_once_and_graded_per_version(
        requester, requester_client, django_capture_on_commit_callbacks):
    project = launched_project(requester, ["good", "bad", "meh"], gold_per_task=1,
                               gold=[("great!", "positive"), ("lovely", "positive"),
                                     ("superb", "positive")])
    _, client = cleared_worker("dana@workers.example")

    first = claim(client)
    assert (first["instructions_version"], first["instructions_changed"]) == (1, None)
    assert first["project"]["instructions_version"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(client, first, "positive").status_code == 200

    body = patch_instructions(requester_client, project.pk,
                              "Pick the sentiment.\nSarcasm counts as negative.")
    assert body["instructions_version"] == 2

    second = claim(client)
    assert second["instructions_version"] == 2
    assert second["instructions_changed"] == {
        "from_version": 1, "to_version": 2,
        "diff": "--- version 1\n+++ version 2\n@@ -1 +1,2 @@\n Pick the sentiment.\n"
                "+Sarcasm counts as negative."}
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(client, second, "negative").status_code == 200

    third = claim(client)
    assert (third["instructions_version"], third["instructions_changed"]) == (2, None)

    assert list(Assignment.objects.order_by("pk").values_list("instructions_version",
                                                              flat=True)) == [1, 2, 2]
    review = requester_client.get(f"/api/v1/projects/{project.pk}/assignments?status=submitted")
    assert sorted(row["instructions_version"] for row in review.json()["results"]) == [1, 2]
    mine = client.get("/api/v1/worker/assignments").json()["results"]
    assert [row["instructions_version"] for row in mine] == [2, 2, 1]

    versions = requester_client.get(f"/api/v1/projects/{project.pk}/instructions").json()
    assert [(v["version"], v["instructions"], v["gold_graded"], v["gold_correct"],
             v["gold_accuracy"]) for v in versions] == [
        (1, "Pick the sentiment.", 1, 1, 1.0),
        (2, "Pick the sentiment.\nSarcasm counts as negative.", 1, 0, 0.0),
    ]


def test_results_rows_carry_the_version_of_their_labels(requester, requester_client,
                                                       django_capture_on_commit_callbacks):
    project = launched_project(requester, ["good", "bad"])
    _, client = cleared_worker("dana@workers.example")
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, claim(client), "positive")
    patch_instructions(requester_client, project.pk, "New text.")
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, claim(client), "negative")

    rows = requester_client.get(f"/api/v1/projects/{project.pk}/results?format=jsonl")
    lines = b"".join(rows.streaming_content).decode().splitlines()

    import json
    assert [(json.loads(line)["external_id"], json.loads(line)["instructions_version"])
            for line in lines] == [("t1", 1), ("t2", 2)]
