"""Single-column foreign-key indexes that another index of the table leads with (a unique
constraint or a (column, status) index): every insert wrote them, and the claim's and
the submit's non-HOT updates too, for no lookup the longer index does not serve.

Only the indexes go: Django's own AlterField would also drop and re-add each foreign-key
constraint, which re-validates every row of these large tables under a lock."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('qa', '0003_fair_work'),
        ('workers', '0003_audit_actions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='workerprojectstats',
                    name='worker',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workers.workerprofile'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "qa_workerprojectstats_worker_id_6e7881b4"',
                    'CREATE INDEX "qa_workerprojectstats_worker_id_6e7881b4" ON "qa_workerprojectstats" ("worker_id")'),
            ],
        ),
    ]
