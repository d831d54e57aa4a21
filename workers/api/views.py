from django.db import transaction
from django.http import Http404
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import identity_cache
from accounts.authentication import bearer_token_key
from accounts.permissions import IsStaff, IsWorker
from config import request_batch
from config.errors import InvalidInput
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response
from config.query import choice_param
from config.throttling import OneRoundTripUserRateThrottle
from marketplace.api.views import RequesterView
from marketplace.models import Project
from payments import selectors as payments_selectors
from qa import selectors as qa_selectors

from .. import selectors, services
from ..enums import ApplicationStatus, WorkerStatus
from ..models import WorkerBlock, WorkerProfile
from .serializers import (
    AdminExamInput,
    AdminSkillInput,
    AdminWorkerOutput,
    AnswersInput,
    ApplicationInput,
    ApplicationOutput,
    ApproveInput,
    AuditEventOutput,
    BlockInput,
    BlockOutput,
    ClearanceInput,
    EligibleProjectOutput,
    ExamInput,
    ExamOutput,
    ProfileInput,
    ProfileOutput,
    ReasonInput,
    RequiredExamInput,
    TermsInput,
    WorkerExamOutput,
)


def skill_or_400(slug: str, field: str = "skill"):
    skill = selectors.skills_by_slug([slug]).get(slug)
    if skill is None:
        raise InvalidInput(f"Unknown skill {slug!r}.", fields={field: ["Unknown skill."]})
    return skill


def _profile_queryset():
    return WorkerProfile.objects.select_related("user").prefetch_related("domains",
                                                                         "skills__skill")


# --- Workers -------------------------------------------------------------------------------

class WorkerView(APIView):
    permission_classes = [IsWorker]

    def read_ahead_keys(self, *, worker_id: int) -> list[str]:
        """Cache keys the view will read for this worker, fetched with the identity."""
        return []

    def dispatch(self, request, *args, **kwargs):
        with request_batch.scope():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        self._read_ahead(request)
        super().initial(request, *args, **kwargs)

    def _read_ahead(self, request) -> None:
        """The request's Redis reads in one round trip (config/request_batch.py): the
        token's identity, and for a token this process authenticated before, the throttle
        windows of its user and the view's keys for its worker profile."""
        token_key = bearer_token_key(request)
        if token_key is None:
            return
        keys, windows = identity_cache.cache_keys(token_key), []
        known = identity_cache.known_identity(token_key)
        if known is not None:
            user_id, worker_id = known
            if worker_id is not None:
                keys += self.read_ahead_keys(worker_id=worker_id)
            windows = [window for throttle in self.get_throttles()
                       if isinstance(throttle, OneRoundTripUserRateThrottle)
                       and (window := throttle.window_for(user_id=user_id)) is not None]
        request_batch.fetch(keys=keys, windows=windows)

    @cached_property
    def worker(self) -> WorkerProfile:
        return selectors.worker_profile_of(user=self.request.user)


class ProfileView(WorkerView):
    @extend_schema(responses=ProfileOutput, tags=["worker"])
    def get(self, request):
        return Response(ProfileOutput(_profile_queryset().get(pk=self.worker.pk)).data)

    @extend_schema(request=ProfileInput, responses=ProfileOutput, tags=["worker"])
    def patch(self, request):
        payload = ProfileInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.worker_profile_update(worker=self.worker, changes=payload.validated_data)
        return Response(ProfileOutput(_profile_queryset().get(pk=self.worker.pk)).data)


class ApplicationView(WorkerView):
    @extend_schema(request=ApplicationInput, responses={201: ApplicationOutput}, tags=["worker"])
    @idempotent
    def post(self, request):
        payload = ApplicationInput(data=request.data)
        payload.is_valid(raise_exception=True)
        application = services.application_submit(worker=self.worker, **payload.validated_data)
        return Response(ApplicationOutput(selectors.application_get(
            application_id=application.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=paginated(ApplicationOutput), tags=["worker"])
    def get(self, request):
        applications = selectors.application_list().filter(worker=self.worker)
        return paginated_response(request, applications, ApplicationOutput, view=self)


class QualificationListView(WorkerView):
    @extend_schema(responses=paginated(WorkerExamOutput), tags=["worker"])
    def get(self, request):
        return paginated_response(request, selectors.exams_for_worker(worker=self.worker),
                                  WorkerExamOutput, view=self)


def _attempt_body(attempt) -> dict:
    project = attempt.exam.project
    return {
        "attempt_id": attempt.pk,
        "exam_id": attempt.exam_id,
        "status": attempt.status,
        "expires_at": attempt.expires_at,
        "project": {"name": project.name, "instructions": project.instructions,
                    "task_type": project.task_type, "label_config": project.label_config},
        # Exam questions are gold items: only their id and data ever leave the server.
        "items": selectors.exam_attempt_items(attempt=attempt),
    }


class ExamAttemptStartView(WorkerView):
    @extend_schema(request=None, responses={201: dict}, tags=["worker"])
    def post(self, request, exam_id):
        exam = selectors.exam_get(exam_id=exam_id)
        attempt = services.exam_attempt_start(exam=exam, worker=self.worker)
        attempt = selectors.exam_attempt_get(worker=self.worker, attempt_id=attempt.pk)
        return Response(_attempt_body(attempt), status=status.HTTP_201_CREATED)


class ExamAttemptSubmitView(WorkerView):
    @extend_schema(request=AnswersInput, responses=dict, tags=["worker"])
    def post(self, request, attempt_id):
        attempt = selectors.exam_attempt_get(worker=self.worker, attempt_id=attempt_id)
        payload = AnswersInput(data=request.data)
        payload.is_valid(raise_exception=True)
        attempt = services.exam_attempt_submit(attempt=attempt, worker=self.worker,
                                               answers=payload.validated_data["answers"])
        return Response({"attempt_id": attempt.pk, "status": attempt.status,
                         "score": attempt.score, "passed": attempt.status == "passed",
                         "pass_mark": attempt.exam.pass_mark})


class TermsAcceptView(WorkerView):
    @extend_schema(request=TermsInput, responses=ProfileOutput, tags=["worker"])
    def post(self, request):
        payload = TermsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.worker_terms_accept(worker=self.worker, **payload.validated_data)
        return Response(ProfileOutput(_profile_queryset().get(pk=self.worker.pk)).data)


class EligibleProjectsView(WorkerView):
    @extend_schema(responses=paginated(EligibleProjectOutput), tags=["worker"],
                   description="Projects this worker's verified skills, domain, clearance "
                   "and exams currently allow.")
    def get(self, request):
        projects = selectors.eligible_projects(worker=self.worker).order_by("-priority", "id")
        return paginated_response(request, projects, EligibleProjectOutput, view=self)


class DataExportView(WorkerView):
    @extend_schema(responses=dict, tags=["worker"])
    def get(self, request):
        worker = WorkerProfile.objects.select_related("user").get(pk=self.worker.pk)
        body = selectors.worker_data_export(worker=worker)
        # Money and disputes are personal data too; their apps own how they read.
        money = payments_selectors.worker_money_export(worker=worker)
        body["earnings"] = money["entries"]
        body["payouts"] = money["payouts"]
        body["balances"] = {name: money[name] for name in (
            "pending_cents", "available_cents", "in_flight_cents", "paid_cents")}
        body["disputes"] = qa_selectors.worker_disputes_export(worker=worker)
        return Response(body)


class AccountView(WorkerView):
    @extend_schema(request=None, responses={204: None}, tags=["worker"])
    def delete(self, request):
        services.worker_erase(worker=self.worker, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Admins --------------------------------------------------------------------------------

class AdminView(APIView):
    permission_classes = [IsStaff]


class AdminApplicationListView(AdminView):
    @extend_schema(responses=paginated(ApplicationOutput), tags=["admin"], parameters=[
        OpenApiParameter("status", str, enum=ApplicationStatus.values)])
    def get(self, request):
        wanted = choice_param(request, "status", ApplicationStatus.values)
        return paginated_response(request, selectors.application_list(status=wanted),
                                  ApplicationOutput, view=self)


class AdminApplicationApproveView(AdminView):
    @extend_schema(request=ApproveInput, responses=ApplicationOutput, tags=["admin"])
    def post(self, request, application_id):
        application = selectors.application_get(application_id=application_id)
        payload = ApproveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        skills = [(skill_or_400(entry["skill"], f"skills.{index}.skill"), entry["level"])
                  for index, entry in enumerate(payload.validated_data["skills"])]
        services.application_approve(application=application, actor=request.user,
                                     skills=skills,
                                     clearance=payload.validated_data.get("clearance"),
                                     note=payload.validated_data["note"])
        return Response(ApplicationOutput(selectors.application_get(
            application_id=application.pk)).data)


class AdminApplicationRejectView(AdminView):
    @extend_schema(request=ReasonInput, responses=ApplicationOutput, tags=["admin"])
    def post(self, request, application_id):
        application = selectors.application_get(application_id=application_id)
        payload = ReasonInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.application_reject(application=application, actor=request.user,
                                    reason=payload.validated_data["reason"])
        return Response(ApplicationOutput(selectors.application_get(
            application_id=application.pk)).data)


class AdminWorkerListView(AdminView):
    @extend_schema(responses=paginated(AdminWorkerOutput), tags=["admin"], parameters=[
        OpenApiParameter("status", str, enum=WorkerStatus.values)])
    def get(self, request):
        workers = _profile_queryset().order_by("id")
        if wanted := choice_param(request, "status", WorkerStatus.values):
            workers = workers.filter(status=wanted)
        return paginated_response(request, workers, AdminWorkerOutput, view=self)


class AdminWorkerDetailView(AdminView):
    @extend_schema(responses=AdminWorkerOutput, tags=["admin"])
    def get(self, request, worker_id):
        worker = selectors.worker_get(worker_id=worker_id)
        body = AdminWorkerOutput(_profile_queryset().get(pk=worker.pk)).data
        body["audit_log"] = AuditEventOutput(worker.audit_events.all(), many=True).data
        return Response(body)


def _standing_view(service_name: str):
    service = getattr(services, service_name)

    class StandingView(AdminView):
        @extend_schema(request=ReasonInput, responses=AdminWorkerOutput, tags=["admin"],
                       operation_id=service_name)
        def post(self, request, worker_id):
            worker = selectors.worker_get(worker_id=worker_id)
            payload = ReasonInput(data=request.data)
            payload.is_valid(raise_exception=True)
            service(worker=worker, actor=request.user, reason=payload.validated_data["reason"])
            return Response(AdminWorkerOutput(_profile_queryset().get(pk=worker.pk)).data)

    StandingView.__name__ = f"Admin{service_name.title().replace('_', '')}View"
    return StandingView


AdminWorkerSuspendView = _standing_view("worker_suspend")
AdminWorkerReinstateView = _standing_view("worker_reinstate")
AdminWorkerBanView = _standing_view("worker_ban")


class AdminWorkerClearanceView(AdminView):
    @extend_schema(request=ClearanceInput, responses=AdminWorkerOutput, tags=["admin"])
    def post(self, request, worker_id):
        worker = selectors.worker_get(worker_id=worker_id)
        payload = ClearanceInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.worker_clearance_grant(worker=worker, actor=request.user,
                                        **payload.validated_data)
        return Response(AdminWorkerOutput(_profile_queryset().get(pk=worker.pk)).data)


class AdminWorkerSkillView(AdminView):
    @extend_schema(request=AdminSkillInput, responses=AdminWorkerOutput, tags=["admin"])
    def post(self, request, worker_id):
        worker = selectors.worker_get(worker_id=worker_id)
        payload = AdminSkillInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        with transaction.atomic():
            services.worker_skill_set_verified(
                worker=worker, skill=skill_or_400(data["skill"]), level=data["level"],
                source="admin", actor=request.user, reason=data["reason"])
        return Response(AdminWorkerOutput(_profile_queryset().get(pk=worker.pk)).data)


class AdminExamCreateView(AdminView):
    @extend_schema(request=AdminExamInput, responses={201: ExamOutput}, tags=["admin"],
                   description="Make a gold-only project a platform exam: passing it sets "
                   "the worker's verified skill level.")
    @idempotent
    def post(self, request):
        payload = AdminExamInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        try:
            project = Project.objects.get(pk=data.pop("project_id"))
        except Project.DoesNotExist:
            raise InvalidInput("Unknown project.", fields={"project_id": ["Unknown project."]})
        exam = services.exam_create(project=project, actor=request.user,
                                    skill=skill_or_400(data.pop("skill")), organization=None,
                                    **data)
        return Response(ExamOutput(exam).data, status=status.HTTP_201_CREATED)


# --- Requesters ----------------------------------------------------------------------------

class ProjectBlocksView(RequesterView):
    @extend_schema(request=BlockInput, responses={201: BlockOutput}, tags=["projects"])
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = BlockInput(data=request.data)
        payload.is_valid(raise_exception=True)
        block = services.worker_block(project=project, actor=request.user,
                                      pseudonym=payload.validated_data["worker_id"],
                                      reason=payload.validated_data["reason"])
        return Response(BlockOutput(block).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=paginated(BlockOutput), tags=["projects"])
    def get(self, request, project_id):
        self.get_project(project_id)
        blocks = WorkerBlock.objects.filter(organization=self.organization).order_by("id")
        return paginated_response(request, blocks, BlockOutput, view=self)


class ProjectBlockDetailView(RequesterView):
    @extend_schema(request=None, responses={204: None}, tags=["projects"])
    def delete(self, request, project_id, worker_id):
        project = self.get_project(project_id)
        services.worker_unblock(project=project, pseudonym=worker_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectExamView(RequesterView):
    @extend_schema(request=ExamInput, responses={201: ExamOutput}, tags=["projects"],
                   description="Make this gold-only project a qualification exam of your "
                   "organization; your projects can then require it.")
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = ExamInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        exam = services.exam_create(project=project, actor=request.user,
                                    skill=skill_or_400(data.pop("skill")),
                                    organization=self.organization, **data)
        return Response(ExamOutput(exam).data, status=status.HTTP_201_CREATED)


class ProjectRequiredExamsView(RequesterView):
    @extend_schema(request=RequiredExamInput, responses={201: dict}, tags=["projects"])
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = RequiredExamInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            exam = selectors.exam_get(exam_id=payload.validated_data["exam_id"])
        except Http404:
            raise InvalidInput("Unknown exam.", fields={"exam_id": ["Unknown exam."]})
        services.exam_require(project=project, exam=exam, actor=request.user)
        return Response({"project_id": project.pk, "exam_id": exam.pk},
                        status=status.HTTP_201_CREATED)
