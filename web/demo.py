"""A demo bounding-box project for `make run` (seed_demo): images drawn here as SVG and
stored as data: URLs in the items, so nothing is downloaded and nothing needs serving."""
import base64
import random

from flows.projects import launch
from marketplace.services import items_import, project_create
from marketplace.uploads import UploadRow

PROJECT_NAME = "Demo: shapes in pictures (bounding boxes)"
LABELS = ["square", "circle", "triangle"]
WIDTH, HEIGHT = 480, 320
BACKGROUNDS = ["#e8f1fa", "#f4efe6", "#eaf5ec", "#f6e9f0", "#efeff4"]
COLOURS = ["#c0392b", "#1f6f8b", "#2e7d32", "#8e44ad", "#b9770e"]


def _shape_svg(kind: str, x: int, y: int, size: int, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{colour}"/>'
    if kind == "circle":
        radius = size // 2
        return f'<circle cx="{x + radius}" cy="{y + radius}" r="{radius}" fill="{colour}"/>'
    points = f"{x},{y + size} {x + size // 2},{y} {x + size},{y + size}"
    return f'<polygon points="{points}" fill="{colour}"/>'


def demo_image(rng: random.Random) -> tuple[str, list[dict]]:
    """One picture with 1-3 shapes that do not overlap, and the boxes that frame them."""
    shapes, boxes, taken = [], [], []
    for _ in range(rng.randint(1, 3)):
        for _attempt in range(20):
            size = rng.randint(50, 110)
            x, y = rng.randint(10, WIDTH - size - 10), rng.randint(10, HEIGHT - size - 10)
            if all(x + size < ox or ox + osize < x or y + size < oy or oy + osize < y
                   for ox, oy, osize in taken):
                break
        else:
            continue
        taken.append((x, y, size))
        kind = rng.choice(LABELS)
        shapes.append(_shape_svg(kind, x, y, size, rng.choice(COLOURS)))
        boxes.append({"x": round(x / WIDTH, 4), "y": round(y / HEIGHT, 4),
                      "w": round(size / WIDTH, 4), "h": round(size / HEIGHT, 4),
                      "label": kind})
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}"><rect width="{WIDTH}" height="{HEIGHT}" '
           f'fill="{rng.choice(BACKGROUNDS)}"/>{"".join(shapes)}</svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), boxes


def create_bbox_demo_project(*, organization, requester, items: int = 40, gold: int = 10):
    """A launched bounding-box project open to every active worker (no skill required)."""
    project = project_create(organization=organization, actor=requester, fields={
        "name": PROJECT_NAME,
        "instructions": "Draw one box around every shape and label it square, circle or "
                        "triangle. Boxes should touch the shape's edges.",
        "task_type": "bbox",
        "label_config": {"labels": LABELS},
        "required_skills": [],
        "sensitivity": "public",
        "pay_model": "per_task",
        "reward_cents": 8,
        "items_per_task": 2,
        "gold_per_task": 1,
        "overlap": 2,
    })
    rng = random.Random(7)
    rows = []
    for index in range(items):
        image, _boxes = demo_image(rng)
        rows.append(UploadRow(row=index + 1, external_id=f"picture-{index + 1:03d}",
                              data={"image": image}, answer=None, has_answer=False))
    items_import(project=project, actor=requester, rows=rows, is_gold=False)
    gold_rows = []
    for index in range(gold):
        image, boxes = demo_image(rng)
        gold_rows.append(UploadRow(row=index + 1, external_id=f"gold-picture-{index + 1:03d}",
                                   data={"image": image}, answer=boxes, has_answer=True))
    items_import(project=project, actor=requester, rows=gold_rows, is_gold=True)
    launch(project=project, actor=requester)
    return project
