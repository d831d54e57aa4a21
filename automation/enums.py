from django.db import models


class AutomationMode(models.TextChoices):
    OFF = "off", "Off: the crowd labels everything"
    PRELABEL = "prelabel", "Workers see the prediction pre-filled and correct it"
    AUTO_ACCEPT = "auto_accept", "Confident predictions are final; a sample is spot-checked"
    ACTIVE = "active", "The crowd is served the most uncertain items first"


class PredictionState(models.TextChoices):
    """What auto-accept made of a prediction."""
    NONE = "none", "Not auto-accepted (crowd labels the item)"
    AUTO_ACCEPTED = "auto_accepted", "Finalised from the prediction without workers"
    SPOT_CHECK = "spot_check", "Sampled for the crowd to check the model"
    RETURNED = "returned", "Was auto-accepted; sent back to the crowd when the gate fell"


class ResultSource(models.TextChoices):
    CROWD = "crowd", "Aggregated crowd labels"
    MODEL = "model", "The model's prediction, auto-accepted"
    MODEL_CHECKED = "model_checked", "A spot-checked prediction: the crowd's result"


class PredictionRunStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the job"
    RUNNING = "running", "Sending batches"
    SUCCEEDED = "succeeded", "Every waiting item was sent"
    FAILED = "failed", "Stopped: the endpoint failed after its retries, or was refused"


LIVE_RUN_STATUSES = (PredictionRunStatus.QUEUED, PredictionRunStatus.RUNNING)
