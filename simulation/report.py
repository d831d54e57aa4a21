"""From simulated runs to the report: the base run's figures and recommendations from a
small sweep over overlap and gold share (each variant run on the same crowd and items)."""
import math

from django.conf import settings

from marketplace.models import Item, Project

from .engine import Outcome, wilson_interval


def sweep_variants(project: Project) -> list[dict]:
    variants = []
    if project.overlap > 1:
        variants.append({"overlap": project.overlap - 1})
    variants.append({"overlap": project.overlap + 1,
                     "max_overlap": max(project.max_overlap, project.overlap + 1)})
    if Item.objects.filter(project=project, is_gold=True).exists():
        variants.append({"gold_per_task": project.gold_per_task + 1})
        if project.gold_per_task > 0:
            variants.append({"gold_per_task": project.gold_per_task - 1})
    return variants


def accuracy_of(outcome: Outcome) -> float | None:
    return round(outcome.correct / outcome.items_final, 4) if outcome.items_final else None


def figures(outcome: Outcome) -> dict:
    """The report's keys, recommendations aside."""
    return {
        "cost_cents": outcome.cost_cents,
        "hours_to_finish": outcome.hours_to_finish,
        "accuracy": accuracy_of(outcome),
        "accuracy_interval": wilson_interval(outcome.correct, outcome.items_final),
        "spammer_labels_before_stop": outcome.spammer_labels_before_stop,
        "spammer_paid_cents": outcome.spammer_paid_cents,
        "extra_labels": outcome.extra_labels,
        "effective_hourly_cents": outcome.effective_hourly_cents,
    }


def _percent(new: float, old: float) -> str:
    if not old:
        return "n/a"
    return f"{(new - old) / old * 100:+.0f} %"


def _recommendation(project: Project, base: Outcome, variant: Outcome) -> str:
    (name, new), = ((k, v) for k, v in variant.overrides.items() if k != "max_overlap")
    old = getattr(project, name)
    parts = [f"{name} {old} → {new}"]
    base_stop, variant_stop = base.mean_labels_to_stop(), variant.mean_labels_to_stop()
    if base_stop and variant_stop:
        ratio = base_stop / variant_stop
        if ratio >= 1.05:
            parts.append(f"catches spammers {ratio:.1f}× sooner")
        elif ratio <= 0.95:
            parts.append(f"catches spammers {1 / ratio:.1f}× later")
    base_accuracy, variant_accuracy = accuracy_of(base), accuracy_of(variant)
    if base_accuracy is not None and variant_accuracy is not None:
        parts.append(f"accuracy {base_accuracy:.1%} → {variant_accuracy:.1%}")
    parts.append(f"{_percent(variant.cost_cents, base.cost_cents)} cost")
    if variant.hours_to_finish is None:
        parts.append(f"{variant.items_total - variant.items_final} items left unfinished")
    elif base.hours_to_finish and variant.hours_to_finish != base.hours_to_finish:
        parts.append(f"finishes in {variant.hours_to_finish:g} h instead of "
                     f"{base.hours_to_finish:g} h")
    return parts[0] + ": " + ", ".join(parts[1:])


def recommendations(project: Project, base: Outcome, variants: list[Outcome]) -> list[str]:
    advice = [_recommendation(project, base, variant) for variant in variants]
    floor = settings.MIN_EFFECTIVE_HOURLY_CENTS
    hourly = base.effective_hourly_cents
    if hourly is not None and hourly < floor and project.reward_cents:
        needed = math.ceil(project.reward_cents * floor / hourly)
        advice.append(f"reward_cents {project.reward_cents} → {needed} to reach the "
                      f"fair-pay floor of {floor} cents per hour (now {hourly})")
    stopped = [s for s in base.spammers if s.stopped_after_hours is None]
    if stopped and base.spammers:
        advice.append(f"{len(stopped)} of {len(base.spammers)} spammers were never stopped: "
                      "raise gold_per_task or min_gold_accuracy")
    return advice


def detail(base: Outcome, variants: list[Outcome]) -> dict:
    return {
        "items_total": base.items_total,
        "items_final": base.items_final,
        "submissions": base.submissions,
        "expired": base.expired,
        "min_effective_hourly_cents": settings.MIN_EFFECTIVE_HOURLY_CENTS,
        "spammers": [{"labels_before_stop": s.labels_before_stop,
                      "stopped_after_hours": s.stopped_after_hours,
                      "paid_cents": s.paid_cents} for s in base.spammers],
        "sweep": [{"settings": v.overrides, **figures(v)} for v in variants],
    }
