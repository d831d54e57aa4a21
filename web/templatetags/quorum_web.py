from django import template

register = template.Library()


@register.filter
def cents(value) -> str:
    """Integer cents as dollars: 1234 -> "$12.34", -5 -> "-$0.05"."""
    if value is None or value == "":
        return ""
    value = int(value)
    sign = "-" if value < 0 else ""
    dollars, rest = divmod(abs(value), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


@register.filter
def percent(value) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"
