"""Simulations API: thin views over simulation.services and simulation.selectors."""
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from config.celery import enqueue_long_job
from config.idempotency import idempotent
from marketplace.api.views import RequesterView

from .. import selectors, services
from ..tasks import run_simulation
from .serializers import SimulationCreatedOutput, SimulationInput, SimulationOutput


def _body(simulation) -> dict:
    return SimulationOutput({
        "id": simulation.pk, "project_id": simulation.project_id,
        "status": simulation.status, "progress": selectors.simulation_progress(simulation),
        "params": simulation.params, "report": simulation.report,
        "detail": simulation.detail, "error": simulation.error}).data


class ProjectSimulationsView(RequesterView):
    @extend_schema(request=SimulationInput, responses={202: SimulationCreatedOutput},
                   tags=["simulations"],
                   description="Runs the project's settings on a simulated crowd in a "
                   "sandbox that leaves no trace; poll GET /simulations/{id}.")
    @idempotent
    def post(self, request, project_id):
        project = self.get_project(project_id)
        payload = SimulationInput(data=request.data)
        payload.is_valid(raise_exception=True)
        simulation = services.simulation_request(project=project, actor=request.user,
                                                 params=payload.validated_data)
        transaction.on_commit(lambda: enqueue_long_job(run_simulation, simulation.pk))
        return Response({"id": simulation.pk}, status=status.HTTP_202_ACCEPTED)


class SimulationDetailView(RequesterView):
    @extend_schema(responses=SimulationOutput, tags=["simulations"])
    def get(self, request, simulation_id):
        simulation = selectors.simulation_get(organization=self.organization,
                                              simulation_id=simulation_id)
        return Response(_body(simulation))
