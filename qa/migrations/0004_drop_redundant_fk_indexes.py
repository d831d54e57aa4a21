"""The worker's own index on WorkerProjectStats: uniq_worker_project_stats leads with it.
Only the index goes, as in marketplace 0015 (which says why)."""

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
