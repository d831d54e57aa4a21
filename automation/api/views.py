"""Requester endpoints of automated labelling: bulk predictions, settings and report."""
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.idempotency import idempotent
from flows import automation as automation_flow
from flows import prediction_endpoints as prediction_endpoints_flow
from marketplace.api.views import RequesterView
from marketplace.webhooks.api import SecretOnceResponse
from payments.services import assignment_cost_cents
from qa.services import gold_judge

from .. import selectors, services
from .serializers import (
    AutomationOutput,
    PredictionEndpointCreated,
    PredictionEndpointInput,
    PredictionEndpointOutput,
    PredictionEndpointRegistered,
    PredictionRunOutput,
    PredictionsInput,
    PredictionsOutput,
    SettingsInput,
)


def _report(project) -> dict:
    settings = selectors.settings_get(project=project)
    # What the crowd spends on one item: every slot of its task, shared by its items.
    per_item = (project.overlap * assignment_cost_cents(project=project)
                / project.items_per_task)
    report = selectors.automation_report(project=project, judge=gold_judge(project=project),
                                         crowd_cost_per_item_cents=per_item)
    return {"automation": settings.mode,
            "auto_accept_threshold": settings.auto_accept_threshold,
            "spot_check_rate": settings.spot_check_rate,
            "accuracy_target": settings.accuracy_target,
            "min_spot_checks": settings.min_spot_checks,
            "builtin_model": settings.builtin_model,
            "paused": settings.paused_at is not None,
            "paused_model_version": settings.paused_model_version,
            "paused_reason": settings.paused_reason, "paused_at": settings.paused_at,
            **report}


class PredictionsView(RequesterView):
    @extend_schema(request=PredictionsInput, responses=PredictionsOutput,
                   tags=["automation"], description="Store model predictions by "
                   "external_id, validated like worker answers (score 0..1); all or nothing.")
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = PredictionsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        updated = automation_flow.store_predictions(
            project=project, predictions=payload.validated_data["predictions"])
        return Response({"updated": updated})


class AutomationView(RequesterView):
    @extend_schema(responses=AutomationOutput, tags=["automation"],
                   description="Automation settings and, per model version: items, "
                   "agreement, accuracy and its lower bound, confusion, calibration, "
                   "auto-accepted items and the money they saved.")
    def get(self, request, project_id):
        return Response(AutomationOutput(_report(self.get_project(project_id))).data)

    @extend_schema(request=SettingsInput, responses=AutomationOutput, tags=["automation"],
                   description="Set the mode (off, prelabel, auto_accept, active) and its "
                   "thresholds; choosing auto_accept again lifts a pause.")
    def patch(self, request, project_id):
        project = self.get_project(project_id)
        payload = SettingsInput(data=request.data)
        payload.is_valid(raise_exception=True)
        automation_flow.update_settings(project=project, fields=payload.validated_data)
        return Response(AutomationOutput(_report(project)).data)


class PredictionEndpointView(RequesterView):
    def _endpoint(self, project_id):
        endpoint = selectors.prediction_endpoint_get(project=self.get_project(project_id))
        if endpoint is None:
            raise Http404("This project has no prediction endpoint.")
        return endpoint

    @extend_schema(responses=PredictionEndpointOutput, tags=["automation"],
                   description="The project's model server and its latest runs (never "
                   "the secret).")
    def get(self, request, project_id):
        endpoint = self._endpoint(project_id)
        return Response(PredictionEndpointOutput({
            "url": endpoint.url, "batch_size": endpoint.batch_size,
            "created_at": endpoint.created_at,
            "runs": selectors.prediction_runs(endpoint=endpoint)}).data)

    @extend_schema(request=PredictionEndpointInput, responses={201: PredictionEndpointCreated},
                   tags=["automation"], description="Register (or replace) the project's "
                   "model server. Quorum POSTs it signed batches of items waiting for a "
                   "prediction (after imports, and on /run) and stores its answers. The "
                   "signing secret is in this answer only (a replay with the same "
                   "Idempotency-Key answers without it).")
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = PredictionEndpointInput(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint, secret = services.prediction_endpoint_set(
            project=project, actor=request.user, **payload.validated_data)
        # The secret joins the body only when rendered: never stored with the response.
        return SecretOnceResponse(PredictionEndpointRegistered(endpoint).data, secret=secret,
                                  status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, tags=["automation"])
    def delete(self, request, project_id):
        services.prediction_endpoint_delete(endpoint=self._endpoint(project_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PredictionEndpointRunView(RequesterView):
    @extend_schema(request=None, responses={202: PredictionRunOutput}, tags=["automation"],
                   description="Send every item still waiting for a prediction to the "
                   "endpoint now. While a run is live, answers that run.")
    def post(self, request, project_id):
        project = self.get_project(project_id)
        run = prediction_endpoints_flow.request_run(project=project, trigger="manual")
        if run is None:
            raise Http404("This project has no prediction endpoint.")
        run.refresh_from_db()  # the eager job may have run it already at commit
        return Response(PredictionRunOutput(run).data, status=status.HTTP_202_ACCEPTED)
