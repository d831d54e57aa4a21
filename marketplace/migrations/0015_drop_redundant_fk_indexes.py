"""Single-column foreign-key indexes that another index of the table leads with (a unique
constraint or a (column, status) index): every insert wrote them, and the claim's and
the submit's non-HOT updates too, for no lookup the longer index does not serve.

Only the indexes go: Django's own AlterField would also drop and re-add each foreign-key
constraint, which re-validates every row of these large tables under a lock."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketplace', '0014_task_fresh_active_idx'),
        ('workers', '0003_audit_actions'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='answer',
                    name='assignment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='answers', to='marketplace.assignment'),
                ),
                migrations.AlterField(
                    model_name='assignment',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='marketplace.project'),
                ),
                migrations.AlterField(
                    model_name='assignment',
                    name='task',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='marketplace.task'),
                ),
                migrations.AlterField(
                    model_name='assignment',
                    name='worker',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='workers.workerprofile'),
                ),
                migrations.AlterField(
                    model_name='goldseen',
                    name='worker',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workers.workerprofile'),
                ),
                migrations.AlterField(
                    model_name='item',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='marketplace.project'),
                ),
                migrations.AlterField(
                    model_name='task',
                    name='project',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to='marketplace.project'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_answer_assignment_id_3e40e494"',
                    'CREATE INDEX "marketplace_answer_assignment_id_3e40e494" ON "marketplace_answer" ("assignment_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_assignment_project_id_e296632e"',
                    'CREATE INDEX "marketplace_assignment_project_id_e296632e" ON "marketplace_assignment" ("project_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_assignment_task_id_f03016ec"',
                    'CREATE INDEX "marketplace_assignment_task_id_f03016ec" ON "marketplace_assignment" ("task_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_assignment_worker_id_1bf11d38"',
                    'CREATE INDEX "marketplace_assignment_worker_id_1bf11d38" ON "marketplace_assignment" ("worker_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_goldseen_worker_id_2e1ffe40"',
                    'CREATE INDEX "marketplace_goldseen_worker_id_2e1ffe40" ON "marketplace_goldseen" ("worker_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_item_project_id_83573449"',
                    'CREATE INDEX "marketplace_item_project_id_83573449" ON "marketplace_item" ("project_id")'),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "marketplace_task_project_id_486f4d5c"',
                    'CREATE INDEX "marketplace_task_project_id_486f4d5c" ON "marketplace_task" ("project_id")'),
            ],
        ),
    ]
