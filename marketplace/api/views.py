import json

from django.conf import settings
from django.utils.functional import cached_property
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsRequester
from config.errors import InvalidInput, PayloadTooLarge
from config.idempotency import idempotent
from config.pagination import paginated, paginated_response
from config.parsers import FormParser, JSONParser, MultiPartParser
from config.query import bool_param, choice_param
from flows import imports as imports_flow
from flows import projects as projects_flow

from .. import selectors, services
from ..enums import ProjectStatus
from ..uploads import format_from_filename, parse_upload, rows_from_objects
from .serializers import (
    ImportCreatedOutput,
    ImportOutput,
    ImportQueuedOutput,
    InstructionsVersionOutput,
    ItemOutput,
    ItemsUploadInput,
    ProjectInput,
    ProjectOutput,
    TaskOutput,
)


class RequesterView(APIView):
    """Base for requester endpoints: every lookup is scoped to the caller's organization."""

    permission_classes = [IsRequester]

    @cached_property
    def organization(self):
        organization = selectors.organization_of(user=self.request.user)
        if organization is None:
            raise PermissionDenied("This account belongs to no organization.")
        return organization

    def get_project(self, project_id):
        return selectors.project_get(organization=self.organization, project_id=project_id)


class ProjectListView(RequesterView):
    @extend_schema(responses=paginated(ProjectOutput), tags=["projects"], parameters=[
        OpenApiParameter("status", str, enum=ProjectStatus.values)])
    def get(self, request):
        projects = selectors.project_list(organization=self.organization)
        if status_filter := choice_param(request, "status", ProjectStatus.values):
            projects = projects.filter(status=status_filter)
        return paginated_response(request, projects, ProjectOutput, view=self)

    @extend_schema(request=ProjectInput, responses={201: ProjectOutput}, tags=["projects"])
    @idempotent
    def post(self, request):
        payload = ProjectInput(data=request.data)
        payload.is_valid(raise_exception=True)
        project = projects_flow.create(organization=self.organization, actor=request.user,
                                       fields=payload.validated_data)
        project = self.get_project(project.pk)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(RequesterView):
    @extend_schema(responses=ProjectOutput, tags=["projects"])
    def get(self, request, project_id):
        return Response(ProjectOutput(self.get_project(project_id)).data)

    @extend_schema(request=ProjectInput(partial=True), responses=ProjectOutput,
                   tags=["projects"])
    def patch(self, request, project_id):
        project = self.get_project(project_id)
        payload = ProjectInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {name: payload.validated_data[name] for name in payload.initial_data
                   if name in payload.validated_data}
        projects_flow.update(project=project, actor=request.user, changes=changes)
        return Response(ProjectOutput(self.get_project(project_id)).data)


def _transition_view(action, service):

    class TransitionView(RequesterView):
        @extend_schema(request=None, responses=ProjectOutput, tags=["projects"],
                       operation_id=f"project_{action}")
        def post(self, request, project_id):
            project = self.get_project(project_id)
            service(project=project, actor=request.user)
            return Response(ProjectOutput(self.get_project(project_id)).data)

    TransitionView.__name__ = f"Project{action.capitalize()}View"
    return TransitionView


ProjectLaunchView = _transition_view("launch", projects_flow.launch)
ProjectPauseView = _transition_view("pause", services.project_pause)
ProjectResumeView = _transition_view("resume", projects_flow.resume)
ProjectCancelView = _transition_view("cancel", projects_flow.cancel)


class _UploadView(RequesterView):
    """Shared by /items and /gold: the two differ only in what a row must carry."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    is_gold = False

    def _read_upload(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > settings.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                f"Uploads are limited to {settings.MAX_UPLOAD_BYTES} bytes.")
        if request.content_type.startswith("multipart/"):
            upload = request.FILES.get("file")
            if upload is None:
                raise InvalidInput("Send the rows as a 'file' part.",
                                   fields={"file": ["This field is required."]})
            if upload.size > settings.MAX_UPLOAD_BYTES:
                raise PayloadTooLarge(
                    f"Uploads are limited to {settings.MAX_UPLOAD_BYTES} bytes.")
            file_format = format_from_filename(upload.name or "")
            payload = upload.read()
            return payload, file_format, parse_upload(payload, file_format)
        body = request.data
        if not isinstance(body, dict) or "items" not in body:
            raise InvalidInput("Send {\"items\": [...]} or a multipart 'file'.",
                               fields={"items": ["This field is required."]})
        rows = rows_from_objects(body["items"])
        return None, "json", rows

    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload, file_format, rows = self._read_upload(request)
        if len(rows) > settings.IMPORT_SYNC_MAX_ROWS:
            if payload is None:
                payload = json.dumps(request.data["items"]).encode()
            item_import = imports_flow.import_in_background(
                project=project, actor=request.user, payload=payload,
                file_format=file_format, rows_total=len(rows), is_gold=self.is_gold)
            item_import.refresh_from_db(fields=["status"])
            return Response(ImportQueuedOutput({"import_id": item_import.pk,
                                                "status": item_import.status}).data,
                            status=status.HTTP_202_ACCEPTED)
        result = imports_flow.import_items(project=project, actor=request.user, rows=rows,
                                           is_gold=self.is_gold)
        body = ImportCreatedOutput(result).data
        if self.is_gold:
            body.pop("tasks_created")
        return Response(body, status=status.HTTP_201_CREATED)


class ProjectItemsView(_UploadView):
    @extend_schema(
        request={"application/json": ItemsUploadInput, "multipart/form-data": ItemsUploadInput},
        responses={201: ImportCreatedOutput, 202: ImportQueuedOutput}, tags=["items"],
        description="Rows: {external_id?, data, prediction?: {value, score, model_version}} "
        "(CSV: columns prediction - JSON or a bare label -, prediction_score, "
        "prediction_model_version). A prediction is validated like a worker's answer, score "
        "0..1; a bad one refuses its row. Over IMPORT_SYNC_MAX_ROWS rows the upload becomes "
        "a background import (202); follow it at /api/v1/imports/{id}.")
    def post(self, request, project_id):
        return super().post(request, project_id)

    @extend_schema(responses=paginated(ItemOutput), tags=["items"], parameters=[
        OpenApiParameter("is_gold", bool, description="Only gold (true) or only items (false)")])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        is_gold = bool_param(request, "is_gold")
        return paginated_response(request, selectors.item_list(project=project, is_gold=is_gold),
                                  ItemOutput, view=self)


class ProjectGoldView(_UploadView):
    is_gold = True

    @extend_schema(
        request={"application/json": ItemsUploadInput, "multipart/form-data": ItemsUploadInput},
        responses={201: ImportCreatedOutput, 202: ImportQueuedOutput}, tags=["items"],
        description="Rows: {external_id?, data, answer}; answers are validated against the "
        "project's label_config and never shown to workers.")
    def post(self, request, project_id):
        return super().post(request, project_id)


class ProjectTasksView(RequesterView):
    @extend_schema(responses=paginated(TaskOutput), tags=["items"])
    def get(self, request, project_id):
        project = self.get_project(project_id)
        return paginated_response(request, selectors.task_list(project=project), TaskOutput,
                                  view=self)


class ImportDetailView(RequesterView):
    @extend_schema(responses=ImportOutput, tags=["items"])
    def get(self, request, import_id):
        item_import = selectors.item_import_get(organization=self.organization,
                                                import_id=import_id)
        return Response(ImportOutput(item_import).data)


class ProjectInstructionsView(RequesterView):
    @extend_schema(responses=InstructionsVersionOutput(many=True), tags=["projects"],
                   description="Every version of the instructions, with the gold graded "
                   "under each: gold accuracy per version.")
    def get(self, request, project_id):
        project = self.get_project(project_id)
        versions = selectors.instructions_versions(project=project)
        return Response(InstructionsVersionOutput(versions, many=True).data)
