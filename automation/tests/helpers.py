"""Set-up shared by the automation tests: projects with external ids, predictions stored
through the flow with their commit hooks run, and the settings."""
from automation.models import AutomationSettings
from flows import automation as automation_flow
from qa.tests.conftest import committed


def external_ids(count: int) -> list[str]:
    return [f"e{i}" for i in range(count)]


def predict(project, entries: list[tuple[str, object, float]], version: str = "v1") -> int:
    """Store ``(external_id, value, score)`` predictions and run what the commit runs."""
    return committed(automation_flow.store_predictions, project=project, predictions=[
        {"external_id": external_id, "value": value, "score": score,
         "model_version": version} for external_id, value, score in entries])


def configure(project, **fields) -> AutomationSettings:
    return committed(automation_flow.update_settings, project=project, fields=fields)
