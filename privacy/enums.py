from django.db import models


class PrivacyEventKind(models.TextChoices):
    ITEM_SENSITIVITY_RAISED = "item_sensitivity_raised", "Item sensitivity raised"
    ITEM_SENSITIVITY_LOWERED = "item_sensitivity_lowered", "Item sensitivity lowered"
    IMPORT_PII_RAISED = "import_pii_raised", "Import raised items with personal data"
    PROJECT_SENSITIVITY_RAISED = "project_sensitivity_raised", "Project sensitivity raised"
    RETENTION_APPLIED = "retention_applied", "Retention deleted item data"
    ERASURE = "erasure", "Erasure request"
