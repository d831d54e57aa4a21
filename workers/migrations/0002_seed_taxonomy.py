"""The starting skill taxonomy; admins extend it in the Django admin."""
from django.db import migrations

TAXONOMY = {
    "finance": ("Finance", [
        ("financial-statements", "Financial statements"),
        ("credit-risk", "Credit risk assessment"),
        ("fraud-detection", "Fraud detection"),
    ]),
    "healthcare": ("Healthcare", [
        ("medical-coding", "Medical coding (ICD-10)"),
        ("radiology", "Radiology images"),
        ("clinical-notes", "Clinical notes"),
    ]),
    "law": ("Law", [
        ("contract-review", "Contract review"),
        ("legal-research", "Legal research"),
    ]),
    "software": ("Software", [
        ("python-code-review", "Python code review"),
        ("javascript-code-review", "JavaScript code review"),
        ("sql", "SQL"),
    ]),
    "science": ("Science", [
        ("biology", "Biology"),
        ("chemistry", "Chemistry"),
        ("mathematics", "Mathematics"),
    ]),
    "languages": ("Languages", [
        ("sentiment-en", "Sentiment (English)"),
        ("translation-de", "Translation (German)"),
        ("translation-es", "Translation (Spanish)"),
        ("translation-fr", "Translation (French)"),
    ]),
    "general": ("General", [
        ("image-bbox", "Image bounding boxes"),
        ("content-moderation", "Content moderation"),
        ("search-relevance", "Search relevance"),
    ]),
}


def seed(apps, schema_editor):
    Domain = apps.get_model("workers", "Domain")
    Skill = apps.get_model("workers", "Skill")
    for domain_slug, (domain_name, skills) in TAXONOMY.items():
        domain, _ = Domain.objects.get_or_create(slug=domain_slug,
                                                 defaults={"name": domain_name})
        for skill_slug, skill_name in skills:
            Skill.objects.get_or_create(slug=skill_slug,
                                        defaults={"name": skill_name, "domain": domain})


class Migration(migrations.Migration):
    dependencies = [("workers", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
