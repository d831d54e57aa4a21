// The labeling page: collects answers from the widgets, checks them, submits them as
// JSON, shows the server's messages next to their items and swaps in the next task.
// Also the lease timer, heartbeats and keyboard shortcuts. One module, no build step.
import { initSpans } from "./spans.js";
import { initBoxes } from "./bbox.js";
import { initRanking } from "./ranking.js";

const HEARTBEAT_MS = 20000;
const csrf = document.body.dataset.csrf;
let timerId = null;
let heartbeatId = null;

function announce(text) {
  const region = document.getElementById("announce");
  if (region) region.textContent = text;
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf,
               "Accept": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  let payload = null;
  try { payload = await response.json(); } catch { payload = null; }
  return { ok: response.ok, status: response.status, payload };
}

// --- answers --------------------------------------------------------------------------

function readItem(item) {
  const type = item.dataset.type;
  const checked = [...item.querySelectorAll("input:checked")].map((input) => input.value);
  switch (type) {
    case "single_choice":
      return checked.length ? { value: checked[0] } : { problem: "Choose one option." };
    case "multi_choice":
      return { value: checked };
    case "rating": {
      // A scale of radio buttons, or a number box for wide scales.
      const input = item.querySelector("input[type=number]");
      const raw = checked.length ? checked[0] : (input ? input.value : "");
      if (raw === "") return { problem: "Give a rating." };
      const value = Number(raw);
      if (!Number.isInteger(value) || (input && (value < Number(input.min) || value > Number(input.max)))) {
        return { problem: `Must be a whole number from ${input.min} to ${input.max}.` };
      }
      return { value };
    }
    case "text": {
      const value = item.querySelector("textarea").value;
      return value.trim() ? { value } : { problem: "Write an answer." };
    }
    case "spans":
      return { value: item.spansValue ? item.spansValue() : [] };
    case "bbox":
      return { value: item.boxesValue ? item.boxesValue() : [] };
    case "pairwise": {
      if (!checked.length) return { problem: "Choose A, B" + (item.querySelector("input[value=tie]") ? " or tie." : ".") };
      const rationale = item.querySelector("[data-rationale]").value.trim();
      return { value: rationale ? { choice: checked[0], rationale } : checked[0] };
    }
    case "ranking":
      return { value: [...item.querySelectorAll("[data-option]")].map((li) => Number(li.dataset.option)) };
    default:
      return { problem: "Unknown task type." };
  }
}

function clearErrors(form) {
  form.querySelectorAll("[data-field-error]").forEach((p) => { p.textContent = ""; });
  form.querySelectorAll("[data-item]").forEach((item) => item.classList.remove("invalid"));
  const top = form.querySelector("[data-form-error]");
  top.hidden = true;
  top.textContent = "";
}

function showItemError(item, message) {
  item.classList.add("invalid");
  item.querySelector("[data-field-error]").textContent = message;
}

function showFormError(form, message) {
  const top = form.querySelector("[data-form-error]");
  top.textContent = message;
  top.hidden = false;
}

function focusFirstError(form) {
  const invalid = form.querySelector("[data-item].invalid");
  const target = invalid ? invalid.querySelector("input, textarea, select, [tabindex], button") : form.querySelector("[data-form-error]");
  if (target) target.focus();
}

// Server fields look like "answers.3.value" or "answers": map them back to the items.
function showServerErrors(form, error) {
  const items = [...form.querySelectorAll("[data-item]")];
  let placed = false;
  for (const [field, problems] of Object.entries(error.fields || {})) {
    const match = /^answers\.(\d+)/.exec(field);
    if (match && items[Number(match[1])]) {
      showItemError(items[Number(match[1])], problems.join(" "));
      placed = true;
    }
  }
  if (!placed || (error.fields && error.fields.answers)) showFormError(form, error.message);
}

async function submit(task, form) {
  clearErrors(form);
  const items = [...form.querySelectorAll("[data-item]")];
  const answers = [];
  let valid = true;
  for (const item of items) {
    const read = readItem(item);
    if (read.problem) { showItemError(item, read.problem); valid = false; continue; }
    answers.push({ item_id: Number(item.dataset.itemId), value: read.value });
  }
  if (!valid) {
    showFormError(form, "Some answers need attention.");
    focusFirstError(form);
    return;
  }
  const button = form.querySelector("[data-submit]");
  button.disabled = true;
  const { ok, payload } = await postJSON(task.dataset.submitUrl, { answers });
  if (!ok) {
    button.disabled = task.classList.contains("expired");
    showServerErrors(form, payload && payload.error ? payload.error : { message: "Something went wrong; try again." });
    if (payload && payload.error && payload.error.code === "assignment_expired") expire(task);
    focusFirstError(form);
    return;
  }
  if (payload.result_url) { window.location.assign(payload.result_url); return; }
  if (payload.next) {
    task.outerHTML = payload.next.html;
    history.pushState({}, "", payload.next.url);
    start();
    document.getElementById("task-title").focus();
    announce("Submitted. The next task is loaded.");
  } else {
    stop();
    const done = document.createElement("div");
    done.className = "card notice";
    done.setAttribute("role", "status");
    const text = document.createElement("p");
    text.textContent = payload.message;
    const link = document.createElement("a");
    link.href = payload.home_url;
    link.className = "button primary";
    link.textContent = "Back to your projects";
    done.append(text, link);
    task.replaceWith(done);
    link.focus();
  }
}

// --- lease timer and heartbeats ---------------------------------------------------------

function expire(task) {
  task.classList.add("expired");
  task.querySelector("[data-expired]").hidden = false;
  const button = task.querySelector("[data-submit]");
  if (button) button.disabled = true;
  stop();
}

function tick(task) {
  const left = Math.floor((Date.parse(task.dataset.expiresAt) - Date.now()) / 1000);
  const timer = task.querySelector("[data-timer]");
  if (left <= 0) {
    timer.textContent = "0:00";
    expire(task);
    return;
  }
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  const seconds = String(left % 60).padStart(2, "0");
  timer.textContent = hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

async function beat(task) {
  if (!task.dataset.heartbeatUrl || document.hidden) return;
  const { ok, payload } = await postJSON(task.dataset.heartbeatUrl);
  if (ok) task.dataset.expiresAt = payload.expires_at;
  else if (payload && payload.error && payload.error.code === "assignment_expired") expire(task);
}

function stop() {
  clearInterval(timerId);
  clearInterval(heartbeatId);
}

// --- keyboard shortcuts -------------------------------------------------------------------

function currentItem(form) {
  const focused = document.activeElement && document.activeElement.closest("[data-item]");
  if (focused) return focused;
  const items = [...form.querySelectorAll("[data-item]")];
  return items.find((item) => !item.querySelector("input:checked")) || items[0];
}

function isTyping(target) {
  return target.matches("textarea, select, input:not([type=radio]):not([type=checkbox])");
}

function onKey(event) {
  const task = document.getElementById("task");
  const dialog = document.getElementById("shortcuts");
  if (event.key === "?" && !isTyping(event.target)) {
    event.preventDefault();
    if (dialog.open) dialog.close(); else dialog.showModal();
    return;
  }
  if (!task || task.classList.contains("expired") || (dialog && dialog.open)) return;
  const form = task.querySelector("[data-answers]");
  if (event.key === "Enter") {
    const inTextarea = event.target.matches("textarea");
    if ((inTextarea && (event.ctrlKey || event.metaKey)) ||
        (!inTextarea && !event.target.closest("button, a, summary, select, [data-stage], [data-ranking]"))) {
      event.preventDefault();
      form.requestSubmit();
    }
    return;
  }
  if (/^[1-9]$/.test(event.key) && !isTyping(event.target) && !event.altKey && !event.ctrlKey && !event.metaKey) {
    const item = currentItem(form);
    const input = item && item.querySelector(`input[data-key="${event.key}"]`);
    if (input) {
      event.preventDefault();
      input.click();
      input.focus();
    }
  }
}

// --- pre-labels (prelabel mode) ---------------------------------------------------------

// The model's answer the server put on the item (data-prediction, JSON), or undefined.
function predictionOf(item) {
  if (!item || !item.dataset.prediction) return undefined;
  try { return JSON.parse(item.dataset.prediction); } catch { return undefined; }
}

function check(item, value) {
  const input = [...item.querySelectorAll("input[type=radio], input[type=checkbox]")]
    .find((candidate) => candidate.value === String(value));
  if (input) input.checked = true;
}

// Put the prediction into the widget as if the worker had answered it; spans and boxes
// take theirs when their widget starts.
function prefill(item, value) {
  switch (item.dataset.type) {
    case "single_choice":
      check(item, value);
      break;
    case "multi_choice":
      if (Array.isArray(value)) value.forEach((choice) => check(item, choice));
      break;
    case "rating": {
      const input = item.querySelector("input[type=number]");
      if (input) input.value = String(value); else check(item, value);
      break;
    }
    case "text":
      if (typeof value === "string") item.querySelector("textarea").value = value;
      break;
    case "pairwise": {
      const choice = value && typeof value === "object" ? value.choice : value;
      check(item, choice);
      if (value && typeof value === "object" && typeof value.rationale === "string") {
        item.querySelector("[data-rationale]").value = value.rationale;
      }
      break;
    }
    case "ranking": {
      const list = item.querySelector("[data-ranking]");
      if (!Array.isArray(value)) break;
      value.forEach((option) => {
        const li = list.querySelector(`[data-option="${Number(option)}"]`);
        if (li) list.append(li);
      });
      break;
    }
    default:
      break;
  }
}

// --- start ----------------------------------------------------------------------------

function start() {
  stop();
  const task = document.getElementById("task");
  if (!task) return;
  const form = task.querySelector("[data-answers]");
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(task, form); });
  task.querySelectorAll("[data-item][data-prediction]").forEach((item) => {
    const value = predictionOf(item);
    if (value !== undefined) prefill(item, value);
  });
  task.querySelectorAll("[data-spans]").forEach(
    (widget) => initSpans(widget, predictionOf(widget.closest("[data-item]"))));
  task.querySelectorAll("[data-bbox]").forEach(
    (widget) => initBoxes(widget, predictionOf(widget.closest("[data-item]"))));
  task.querySelectorAll("[data-ranking]").forEach((widget) => initRanking(widget));
  tick(task);
  if (!task.classList.contains("expired")) {
    timerId = setInterval(() => tick(task), 1000);
    heartbeatId = setInterval(() => beat(task), HEARTBEAT_MS);
  }
}

document.addEventListener("keydown", onKey);
window.addEventListener("popstate", () => window.location.reload());
start();
