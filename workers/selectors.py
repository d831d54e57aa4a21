from django.db.models import QuerySet

from .models import Skill


def skill_list() -> QuerySet[Skill]:
    return Skill.objects.select_related("domain").order_by("domain__slug", "slug")


def skills_by_slug(slugs: list[str]) -> dict[str, Skill]:
    return {skill.slug: skill for skill in Skill.objects.filter(slug__in=slugs)}
