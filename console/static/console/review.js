// The review page: the worker widgets that draw with a script (spans, boxes, ranking)
// show each submission's answer read-only (data-readonly on the widget).
import { initSpans } from "../web/js/spans.js";
import { initBoxes } from "../web/js/bbox.js";
import { initRanking } from "../web/js/ranking.js";

document.querySelectorAll("[data-spans]").forEach((widget) => initSpans(widget));
document.querySelectorAll("[data-bbox]").forEach((widget) => initBoxes(widget));
document.querySelectorAll("[data-ranking]").forEach((widget) => initRanking(widget));
