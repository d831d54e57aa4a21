// The new-project builder: per-type controls that write the label config, and a live
// check of the whole form. Every change posts the form (as JSON) to the preview
// endpoint, which validates it with the API's serializer and service, renders the task
// with the worker templates and estimates the cost; this module only shows the answer.
import { initSpans } from "../web/js/spans.js";
import { initBoxes } from "../web/js/bbox.js";
import { initRanking } from "../web/js/ranking.js";

const form = document.getElementById("project-form");
const csrf = document.body.dataset.csrf;
const starters = JSON.parse(form.dataset.starters);
const configBox = form.querySelector("[data-field=label_config]");
const sampleBox = form.querySelector("[data-sample]");
const controls = form.querySelector("[data-builder-controls]");
const typeSelect = form.querySelector("[data-field=task_type]");
let timer = null;
let sequence = 0;

const money = (cents) => cents === null || cents === undefined ? "–"
  : `${cents < 0 ? "-" : ""}$${(Math.abs(cents) / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function readConfig() {
  try { return JSON.parse(configBox.value); } catch { return {}; }
}

function writeConfig(config) {
  configBox.value = JSON.stringify(config);
  schedule();
}

function field(labelText, input, id) {
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = labelText;
  input.id = id;
  wrap.append(label, input);
  return wrap;
}

function linesControl(labelText, key, config) {
  const area = document.createElement("textarea");
  area.rows = 3;
  area.value = (config[key] || []).join("\n");
  area.addEventListener("input", () => {
    const next = readConfig();
    next[key] = area.value.split("\n").map((line) => line.trim()).filter(Boolean);
    writeConfig(next);
  });
  return field(labelText, area, `builder-${key}`);
}

function numberControl(labelText, key, config) {
  const input = document.createElement("input");
  input.type = "number";
  input.step = "1";
  input.value = config[key] ?? "";
  input.addEventListener("input", () => {
    const next = readConfig();
    next[key] = input.value === "" ? null : Number(input.value);
    writeConfig(next);
  });
  return field(labelText, input, `builder-${key}`);
}

function checkControl(labelText, key, config) {
  const label = document.createElement("label");
  label.className = "check";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = Boolean(config[key]);
  input.addEventListener("change", () => {
    const next = readConfig();
    next[key] = input.checked;
    writeConfig(next);
  });
  label.append(input, ` ${labelText}`);
  return label;
}

// The controls for one task type, filled from the config as it stands.
function renderControls() {
  const config = readConfig();
  const type = typeSelect.value;
  const parts = {
    single_choice: () => [linesControl("Choices, one per line", "choices", config)],
    multi_choice: () => [linesControl("Choices, one per line", "choices", config)],
    rating: () => [numberControl("Lowest rating", "min", config), numberControl("Highest rating", "max", config)],
    text: () => [numberControl("Longest answer (characters)", "max_length", config)],
    spans: () => [linesControl("Span labels, one per line", "labels", config)],
    bbox: () => [linesControl("Box labels, one per line", "labels", config)],
    pairwise: () => [checkControl("Workers may answer a tie", "allow_tie", config)],
    ranking: () => [numberControl("Entries to rank", "size", config)],
  }[type];
  controls.replaceChildren(...(parts ? parts() : []));
}

function formBody() {
  const data = new FormData(form);
  const body = {};
  for (const [key, value] of data.entries()) {
    if (key === "csrfmiddlewaretoken") continue;
    if (key === "skills") (body.skills ||= []).push(value);
    else body[key] = value;
  }
  return body;
}

function showProblems(problems) {
  form.querySelectorAll("[data-error-for]").forEach((node) => {
    const name = node.dataset.errorFor;
    const mine = Object.entries(problems).filter(([key]) => key === name || key.startsWith(`${name}.`));
    node.textContent = mine.map(([, messages]) => messages.join(" ")).join(" ");
    const input = form.querySelector(`[data-field="${name}"]`);
    if (input) {
      if (mine.length) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  });
}

function showEstimate(estimate) {
  const box = document.querySelector("[data-estimate]");
  if (!estimate) {
    box.innerHTML = "";
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Fix the fields marked in red to see the estimate.";
    box.append(hint);
    return;
  }
  const rows = [
    ["Items", estimate.items.toLocaleString("en-US")],
    ["Tasks, assignments", `${estimate.tasks} tasks, ${estimate.assignments} assignments (tasks × overlap)`],
    ["Worker pay", money(estimate.pay_cents)],
    ["Platform fee", money(estimate.fee_cents)],
    ["Gold share", `${Math.round(estimate.gold_share * 100)}% of labels (${estimate.gold_labels} gold labels, inside the pay)`],
    ["Reserved at launch", money(estimate.total_cents)],
    ["Most with raised overlap", money(estimate.max_total_cents)],
    ["Implied hourly pay", estimate.implied_hourly_cents === null ? "– (give the estimated seconds per task)" : `${money(estimate.implied_hourly_cents)} per hour`],
    ["Pay floor", `${money(estimate.floor_cents)} per hour`],
  ];
  const list = document.createElement("dl");
  list.className = "facts";
  for (const [term, value] of rows) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    div.append(dt, dd);
    list.append(div);
  }
  box.replaceChildren(list);
  for (const [flag, text] of [["below_floor", "Below the pay floor: launch will be refused. Raise the reward or make tasks smaller."],
                              ["over_budget", "The reservation is above the budget."]]) {
    if (!estimate[flag]) continue;
    const warning = document.createElement("p");
    warning.className = "warning";
    warning.dataset.warning = flag;
    warning.textContent = text;
    box.append(warning);
  }
}

async function check() {
  const mine = ++sequence;
  const response = await fetch(form.dataset.previewUrl, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
    body: JSON.stringify(formBody()),
  });
  if (mine !== sequence || !response.ok) return;
  const answer = await response.json();
  showProblems(answer.problems || {});
  showEstimate(answer.estimate);
  document.querySelector("[data-preview-problems]").textContent = (answer.preview_problems || []).join(" ");
  const preview = document.querySelector("[data-preview]");
  preview.innerHTML = answer.html;
  preview.querySelectorAll("[data-spans]").forEach((widget) => initSpans(widget));
  preview.querySelectorAll("[data-bbox]").forEach((widget) => initBoxes(widget));
  preview.querySelectorAll("[data-ranking]").forEach((widget) => initRanking(widget));
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(check, 250);
}

typeSelect.addEventListener("change", () => {
  const starter = starters[typeSelect.value];
  if (starter) {
    configBox.value = JSON.stringify(starter.label_config);
    sampleBox.value = JSON.stringify(starter.sample);
  }
  renderControls();
  schedule();
});
configBox.addEventListener("change", renderControls);
form.addEventListener("input", (event) => {
  if (!controls.contains(event.target)) schedule();
});
form.addEventListener("change", (event) => {
  if (!controls.contains(event.target)) schedule();
});
renderControls();
check();
