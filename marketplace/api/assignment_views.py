"""Worker task flow (next, heartbeat, submit, return, own assignments) and requester
review (list, approve, reject)."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from automation.selectors import prelabels_for
from config.input_rules import MAX_BIGINT
from config.pagination import paginated, paginated_response
from config.query import choice_param
from config.throttling import OneRoundTripUserRateThrottle
from flows import decisions, work
from payments.selectors import effective_hourly_cents
from privacy.selectors import gold_feedback_for_worker, items_for_worker
from workers.api.views import WorkerView

from .. import routing_cache, selectors, services
from ..enums import AssignmentStatus, RejectionReason
from .views import RequesterView


class WorkerNextThrottle(OneRoundTripUserRateThrottle):
    scope = "worker_next"


class WorkerSubmitThrottle(OneRoundTripUserRateThrottle):
    scope = "worker_submit"


class NextTaskInput(serializers.Serializer):
    project_id = serializers.IntegerField(min_value=1, max_value=MAX_BIGINT, required=False,
                                          allow_null=True)


class ServedProject(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    instructions = serializers.CharField()
    task_type = serializers.CharField()
    label_config = serializers.JSONField()
    pay_model = serializers.CharField()
    reward_cents = serializers.IntegerField(allow_null=True)
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
    max_seconds_per_assignment = serializers.IntegerField(allow_null=True)
    instructions_version = serializers.IntegerField()
    effective_hourly_cents = serializers.SerializerMethodField(
        help_text="What this work pays per hour of active time (per-task: reward over the "
        "median measured time; null until measured)")

    def get_effective_hourly_cents(self, project) -> int | None:
        return effective_hourly_cents(project=project)


class ServedPrediction(serializers.Serializer):
    value = serializers.JSONField(help_text="A pre-label to check and correct")


class ServedItem(serializers.Serializer):
    id = serializers.IntegerField(help_text="Opaque; answer with it as item_id")
    data = serializers.JSONField()
    prediction = ServedPrediction(required=False, help_text="Only in prelabel mode")


class InstructionsChange(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    diff = serializers.CharField(help_text="Unified diff of the instructions' text")


class NextTaskOutput(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    instructions_version = serializers.IntegerField(
        help_text="The instructions version this assignment was served with")
    instructions_changed = InstructionsChange(
        allow_null=True, help_text="Set on the first task after the instructions changed")
    project = ServedProject()
    items = ServedItem(many=True)


class HeartbeatOutput(serializers.Serializer):
    expires_at = serializers.DateTimeField()
    active_seconds = serializers.IntegerField()


class SubmitInput(serializers.Serializer):
    answers = serializers.ListField(child=serializers.JSONField(), max_length=1000,
                                    help_text="[{item_id, value}], one per served item")


class GoldFeedback(serializers.Serializer):
    item_id = serializers.IntegerField(source="pk")
    your_answer = serializers.JSONField(source="value")
    expected = serializers.JSONField(source="item.gold_answer")


def rejection_reason_shown(assignment) -> str:
    """A rejection's reason while the work stands rejected; once a dispute overturned it,
    the reason stays on record for the dispute, not on the approved work."""
    return assignment.review_reason if assignment.status == AssignmentStatus.REJECTED else ""


class MissedGoldOutput(serializers.Serializer):
    item_id = serializers.IntegerField()
    your_answer = serializers.JSONField()
    expected = serializers.JSONField()


class RejectionEvidenceOutput(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=RejectionReason.choices)
    reason = serializers.CharField()
    missed_gold = MissedGoldOutput(many=True, help_text="gold_failed only: the gold items "
                                   "this work missed (never other gold)")


def rejection_evidence_shown(assignment) -> dict | None:
    if assignment.status != AssignmentStatus.REJECTED:
        return None
    return selectors.rejection_evidence(assignment=assignment)


class WorkerAssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reward_cents = serializers.IntegerField(allow_null=True)
    active_seconds = serializers.IntegerField()
    instructions_version = serializers.IntegerField()
    review_reason = serializers.SerializerMethodField()
    graded = serializers.SerializerMethodField()
    gold_feedback = serializers.SerializerMethodField()

    rejection = serializers.SerializerMethodField(
        help_text="While rejected: reason code, reason, and the missed gold it cites")

    def get_review_reason(self, assignment) -> str:
        return rejection_reason_shown(assignment)

    @extend_schema_field(RejectionEvidenceOutput(allow_null=True))
    def get_rejection(self, assignment):
        return rejection_evidence_shown(assignment)

    def get_graded(self, assignment) -> bool:
        return assignment.graded_at is not None

    def get_gold_feedback(self, assignment) -> list[dict]:
        # Only once graded, and only the gold this worker missed: they have seen those
        # items, so the expected answer teaches without leaking unseen gold.
        if assignment.graded_at is None or not assignment.missed_gold:
            return []
        return gold_feedback_for_worker(
            project=assignment.project, answers=assignment.missed_gold,
            feedback=GoldFeedback(assignment.missed_gold, many=True).data)


class RequesterAnswer(serializers.Serializer):
    item_id = serializers.IntegerField()
    value = serializers.JSONField()
    is_gold = serializers.BooleanField()
    is_correct = serializers.BooleanField(allow_null=True)


class RequesterAssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    worker_id = serializers.CharField(source="worker_pseudonym",
                                      help_text="Per-project pseudonym")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_reason = serializers.SerializerMethodField()
    active_seconds = serializers.IntegerField()
    instructions_version = serializers.IntegerField()
    answers = RequesterAnswer(many=True)
    rejection = serializers.SerializerMethodField()
    review_requested = serializers.SerializerMethodField(
        help_text="A rejection past the rejection ceiling waits for a reviewer's verdict")

    def get_review_reason(self, assignment) -> str:
        return rejection_reason_shown(assignment)

    @extend_schema_field(RejectionEvidenceOutput(allow_null=True))
    def get_rejection(self, assignment):
        return rejection_evidence_shown(assignment)

    def get_review_requested(self, assignment) -> bool:
        if assignment.status != AssignmentStatus.SUBMITTED:
            return False
        review = getattr(assignment, "review", None)  # the reverse one-to-one, if any
        return review is not None and review.requested_by_id is not None


class RejectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    reason_code = serializers.ChoiceField(
        choices=RejectionReason.choices, default=RejectionReason.OTHER,
        help_text="gold_failed only when the work missed gold (the missed items are cited "
        "to the worker)")


def _worker_items(assignment) -> list[dict]:
    # Masked here, where the payload is built for the worker: stored data stays whole.
    # Pre-labels first, so that masking moves span pre-labels to the masked offsets. A
    # fresh claim knows the project's automation mode (routing read it): no lookup.
    items = prelabels_for(project=assignment.project,
                          items=selectors.served_items(assignment=assignment),
                          mode=getattr(assignment, "automation_mode", None))
    return items_for_worker(project=assignment.project, items=items)


# The next task's body is built here in NextTaskOutput's shape rather than by it:
# instantiating its nested serializers on every claim cost 5 % of a next -> submit
# cycle's CPU. NextTaskOutput stays the documented schema, and a test holds the two
# together (test_next_task_body_is_what_its_serializer_renders).
_TIMESTAMP = serializers.DateTimeField()  # stateless: one instance renders every claim
_SERVED_PROJECT_COLUMNS = [name for name in ServedProject._declared_fields
                           if name != "effective_hourly_cents"]


def _served_item(item: dict) -> dict:
    shown = {"id": item["id"], "data": item["data"]}
    if "prediction" in item:
        shown["prediction"] = {"value": item["prediction"]["value"]}
    return shown


def _next_task_body(assignment) -> dict:
    project = assignment.project
    served_project = {name: getattr(project, name) for name in _SERVED_PROJECT_COLUMNS}
    served_project["effective_hourly_cents"] = effective_hourly_cents(project=project)
    return {"assignment_id": assignment.pk,
            "expires_at": _TIMESTAMP.to_representation(assignment.expires_at),
            "instructions_version": assignment.instructions_version,
            "instructions_changed": selectors.instructions_change_for(assignment=assignment),
            "project": served_project,
            "items": [_served_item(item) for item in _worker_items(assignment)]}


class NextTaskView(WorkerView):
    throttle_classes = [WorkerNextThrottle]

    def read_ahead_keys(self, *, worker_id: int) -> list[str]:
        return routing_cache.cache_keys(worker_id)

    @extend_schema(request=NextTaskInput, responses={200: NextTaskOutput, 204: None},
                   tags=["worker"])
    def post(self, request):
        payload = NextTaskInput(data=request.data or {})
        payload.is_valid(raise_exception=True)
        assignment = services.assignment_claim(
            worker=self.worker, project_id=payload.validated_data.get("project_id"))
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        work.lease_served(assignment)
        return Response(_next_task_body(assignment))


class HeartbeatView(WorkerView):
    @extend_schema(request=None, responses=HeartbeatOutput, tags=["worker"])
    def post(self, request, assignment_id):
        assignment = services.assignment_heartbeat(assignment_id=assignment_id,
                                                   worker=self.worker)
        return Response(HeartbeatOutput(assignment).data)


class SubmitView(WorkerView):
    throttle_classes = [WorkerSubmitThrottle]

    def read_ahead_keys(self, *, worker_id: int) -> list[str]:
        return work.submit_read_ahead_keys(self.kwargs["assignment_id"])

    @extend_schema(request=SubmitInput, responses=dict, tags=["worker"])
    def post(self, request, assignment_id):
        payload = SubmitInput(data=request.data)
        payload.is_valid(raise_exception=True)
        assignment = work.submit(assignment_id=assignment_id, worker=self.worker,
                                 answers=payload.validated_data["answers"],
                                 on_masked_text=True)
        return Response({"status": assignment.status, "assignment_id": assignment.pk,
                         "active_seconds": assignment.active_seconds})


class ReturnView(WorkerView):
    @extend_schema(request=None, responses=WorkerAssignmentOutput, tags=["worker"])
    def post(self, request, assignment_id):
        work.return_task(assignment_id=assignment_id, worker=self.worker)
        assignment = selectors.worker_assignment_get(worker=self.worker,
                                                     assignment_id=assignment_id)
        return Response(WorkerAssignmentOutput(assignment).data)


class WorkerAssignmentListView(WorkerView):
    @extend_schema(responses=paginated(WorkerAssignmentOutput), tags=["worker"], parameters=[
        OpenApiParameter("status", str, enum=AssignmentStatus.values)])
    def get(self, request):
        assignments = selectors.worker_assignment_list(
            worker=self.worker, status=choice_param(request, "status", AssignmentStatus.values))
        return paginated_response(request, assignments, WorkerAssignmentOutput, view=self)


class WorkerAssignmentDetailView(WorkerView):
    @extend_schema(responses=WorkerAssignmentOutput, tags=["worker"])
    def get(self, request, assignment_id):
        assignment = selectors.worker_assignment_get(worker=self.worker,
                                                     assignment_id=assignment_id)
        body = WorkerAssignmentOutput(assignment).data
        if assignment.status == AssignmentStatus.ASSIGNED:
            body["items"] = _worker_items(assignment)
        return Response(body)


class ProjectAssignmentsView(RequesterView):
    @extend_schema(responses=paginated(RequesterAssignmentOutput), tags=["review"],
                   parameters=[OpenApiParameter("status", str, enum=AssignmentStatus.values)])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        assignments = selectors.project_assignment_list(
            project=project, status=choice_param(request, "status", AssignmentStatus.values))
        return paginated_response(request, assignments, RequesterAssignmentOutput, view=self)


def _requester_assignment_body(organization, assignment_id) -> dict:
    assignment = selectors.assignment_for_organization(organization=organization,
                                                       assignment_id=assignment_id)
    listed = selectors.project_assignment_list(project=assignment.project).get(
        pk=assignment.pk)
    return RequesterAssignmentOutput(listed).data


class ApproveView(RequesterView):
    @extend_schema(request=None, responses=RequesterAssignmentOutput, tags=["review"])
    def post(self, request, assignment_id):
        assignment = selectors.assignment_for_organization(organization=self.organization,
                                                           assignment_id=assignment_id)
        decisions.approve(assignment_id=assignment.pk, actor=request.user)
        return Response(_requester_assignment_body(self.organization, assignment_id))


class RejectView(RequesterView):
    @extend_schema(request=RejectInput, responses=RequesterAssignmentOutput, tags=["review"])
    def post(self, request, assignment_id):
        assignment = selectors.assignment_for_organization(organization=self.organization,
                                                           assignment_id=assignment_id)
        payload = RejectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        decisions.reject(assignment_id=assignment.pk, actor=request.user,
                         reason=payload.validated_data["reason"],
                         reason_code=payload.validated_data["reason_code"])
        return Response(_requester_assignment_body(self.organization, assignment_id))


class AvailabilityReason(serializers.Serializer):
    code = serializers.ChoiceField(choices=["application_pending", "not_vetted", "suspended",
                                            "blocked", "no_matching_project", "all_taken"])
    message = serializers.CharField()
    until = serializers.DateTimeField(required=False, allow_null=True)


class AvailabilityOutput(serializers.Serializer):
    can_work = serializers.BooleanField()
    reasons = AvailabilityReason(many=True,
                                 help_text="Why there is no work now (empty when can_work)")


class AvailabilityView(WorkerView):
    @extend_schema(responses=AvailabilityOutput, tags=["worker"],
                   description="Whether a claim would find work now, and if not why, by the "
                   "same rules routing applies.")
    def get(self, request):
        return Response(AvailabilityOutput(
            selectors.worker_availability(worker=self.worker)).data)
