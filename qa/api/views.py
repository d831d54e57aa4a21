from django.db.models import OuterRef, Subquery
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from config.errors import InvalidInput
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response
from config.query import bool_param, choice_param
from flows import decisions
from marketplace.api.views import RequesterView
from marketplace.models import Answer, Project, WorkerPseudonym
from marketplace.selectors import worker_by_pseudonym
from workers.api.views import AdminView, WorkerView, skill_or_400
from workers.selectors import worker_get

from .. import exports, services
from ..enums import DisputeStatus
from ..models import (
    Dispute,
    QualityAction,
    QualitySettings,
    Review,
)
from ..selectors import quality_settings_for, worker_dispute_list, worker_quality_stats
from .serializers import (
    DisputeInput,
    DisputeOutput,
    GrantInput,
    LiftInput,
    QualityActionOutput,
    QualitySettingsIO,
    RequesterQualityActionOutput,
    ResolveInput,
    ResultRowOutput,
    VerdictInput,
)


# --- Workers -------------------------------------------------------------------------------

class WorkerStatsView(WorkerView):
    @extend_schema(responses=dict, tags=["worker"], description="Accuracy per project and "
                   "skill with counts, and every quality action taken, with its reason.")
    def get(self, request):
        stats = worker_quality_stats(worker=self.worker)
        for row in stats["projects"]:
            row["quality_actions"] = QualityActionOutput(row["quality_actions"], many=True).data
        return Response(stats)


class WorkerDisputesView(WorkerView):
    @extend_schema(request=DisputeInput, responses={201: DisputeOutput}, tags=["worker"])
    @idempotent
    def post(self, request):
        payload = DisputeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        dispute = services.dispute_open(worker=self.worker, **payload.validated_data)
        return Response(DisputeOutput(dispute).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=paginated(DisputeOutput), tags=["worker"])
    def get(self, request):
        disputes = worker_dispute_list(worker=self.worker)
        return paginated_response(request, disputes, DisputeOutput, view=self)


def _review_body(review) -> dict:
    assignment = review.assignment
    project = assignment.project
    answers = (Answer.objects.filter(assignment=assignment, is_gold=False)
               .select_related("item").order_by("position"))
    return {"review_id": review.pk, "claimed_until": review.claimed_until,
            "project": {"id": project.pk, "name": project.name,
                        "instructions": project.instructions, "task_type": project.task_type,
                        "label_config": project.label_config},
            # Gold answers stay out of reviews too: reviewers are workers.
            "items": [{"id": answer.pk, "data": answer.item.data, "answer": answer.value}
                      for answer in answers]}


class ReviewNextView(WorkerView):
    @extend_schema(request=None, responses={200: dict, 204: None}, tags=["worker"])
    def post(self, request):
        review = services.review_claim(reviewer=self.worker)
        if review is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_review_body(review))


class ReviewVerdictView(WorkerView):
    @extend_schema(request=VerdictInput, responses=dict, tags=["worker"])
    def post(self, request, review_id):
        payload = VerdictInput(data=request.data)
        payload.is_valid(raise_exception=True)
        if not Review.objects.filter(pk=review_id, reviewer=self.worker).exists():
            raise Http404
        review = decisions.review_verdict(review_id=review_id, reviewer=self.worker,
                                        **payload.validated_data)
        return Response({"review_id": review.pk, "verdict": review.verdict,
                         "assignment_id": review.assignment_id})


# --- Requesters ----------------------------------------------------------------------------

class ProjectQualityView(RequesterView):
    @extend_schema(responses=QualitySettingsIO, tags=["quality"])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        return Response(QualitySettingsIO(quality_settings_for(project=project)).data)

    @extend_schema(request=QualitySettingsIO(partial=True), responses=QualitySettingsIO,
                   tags=["quality"])
    def patch(self, request, project_id):
        project = self.get_project(project_id)
        payload = QualitySettingsIO(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        row, _ = QualitySettings.objects.update_or_create(project=project,
                                                          defaults=payload.validated_data)
        return Response(QualitySettingsIO(row).data)


class ExportNegotiation(DefaultContentNegotiation):
    """Here ``?format=`` names the export's file format, not a DRF renderer: DRF's own
    reading of it answered 404 to format=csv and format=jsonl (no renderer of that name)
    before the view ran. The export is streamed by the view whatever the Accept header;
    the JSON renderer only writes error bodies."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectResultsView(RequesterView):
    content_negotiation_class = ExportNegotiation

    @extend_schema(responses={(200, "application/json"): ResultRowOutput(many=True),
                              (200, "application/x-ndjson"): str, (200, "text/csv"): str},
                   tags=["quality"], parameters=[
        OpenApiParameter("format", str, enum=list(exports.FORMATS)),
        OpenApiParameter("final_only", bool)])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        file_format = choice_param(request, "format", exports.FORMATS, default="json")
        final_only = bool_param(request, "final_only") or False
        content_type, stream = exports.FORMATS[file_format]
        response = StreamingHttpResponse(
            stream(exports.result_rows(project, final_only=final_only)),
            content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="project-{project.pk}-results.{file_format}"')
        return response


class ProjectQualityActionsView(RequesterView):
    @extend_schema(responses=paginated(RequesterQualityActionOutput), tags=["quality"])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        pseudonym = WorkerPseudonym.objects.filter(
            project=project, worker=OuterRef("worker")).values("pseudonym")[:1]
        actions = (QualityAction.objects.filter(project=project)
                   .annotate(worker_pseudonym=Subquery(pseudonym)))
        return paginated_response(request, actions, RequesterQualityActionOutput, view=self)


class ProjectLiftSuspensionView(RequesterView):
    @extend_schema(request=LiftInput, responses=QualityActionOutput, tags=["quality"])
    def post(self, request, project_id, worker_id):
        project = self.get_project(project_id)
        payload = LiftInput(data=request.data)
        payload.is_valid(raise_exception=True)
        worker = worker_by_pseudonym(project=project, pseudonym=worker_id)
        if worker is None:
            raise Http404
        action = services.suspension_lift(worker_id=worker.pk, project_id=project.pk,
                                          actor=request.user, **payload.validated_data)
        return Response(QualityActionOutput(action).data)


# --- Admins --------------------------------------------------------------------------------

class AdminDisputesView(AdminView):
    @extend_schema(responses=paginated(DisputeOutput), tags=["admin"], parameters=[
        OpenApiParameter("status", str, enum=DisputeStatus.values)])
    def get(self, request):
        disputes = Dispute.objects.select_related("assignment").order_by("created_at", "id")
        if wanted := choice_param(request, "status", DisputeStatus.values):
            disputes = disputes.filter(status=wanted)
        return paginated_response(request, disputes, DisputeOutput, view=self)


class AdminDisputeResolveView(AdminView):
    @extend_schema(request=ResolveInput, responses=DisputeOutput, tags=["admin"])
    def post(self, request, dispute_id):
        payload = ResolveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        dispute = decisions.dispute_resolve(dispute_id=dispute_id, actor=request.user,
                                           **payload.validated_data)
        return Response(DisputeOutput(dispute).data)


class AdminReviewerGrantView(AdminView):
    @extend_schema(request=GrantInput, responses={201: dict}, tags=["admin"])
    def post(self, request, worker_id):
        worker = worker_get(worker_id=worker_id)
        payload = GrantInput(data=request.data)
        payload.is_valid(raise_exception=True)
        grant = services.reviewer_grant(worker=worker, actor=request.user,
                                        skill=skill_or_400(payload.validated_data["skill"]))
        return Response({"worker_id": worker.pk, "skill": grant.skill.slug},
                        status=status.HTTP_201_CREATED)


class AdminLiftSuspensionView(AdminView):
    @extend_schema(request=LiftInput, responses=QualityActionOutput, tags=["admin"])
    def post(self, request, worker_id, project_id):
        worker = worker_get(worker_id=worker_id)
        if not Project.objects.filter(pk=project_id).exists():
            raise Http404
        payload = LiftInput(data=request.data)
        payload.is_valid(raise_exception=True)
        action = services.suspension_lift(worker_id=worker.pk, project_id=project_id,
                                          actor=request.user, **payload.validated_data)
        return Response(QualityActionOutput(action).data)
