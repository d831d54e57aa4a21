from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("marketplace", "0003_assignments"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="finalized_at",
            field=models.DateTimeField(blank=True, help_text="Set when the result is final",
                                       null=True),
        ),
    ]
