// Bounding boxes on an image. Coordinates are fractions of the image (0..1), as the API
// wants them. Mouse: drag on the image to draw, drag a box to move it, drag its corner
// handle to resize. Keyboard: "Add box", then arrows move and Shift+arrows resize the
// selected box, Delete removes it; the list below selects, relabels and deletes boxes.
// Read-only (data-readonly, the console's review): the boxes of data-initial, drawn and
// listed with their labels, with nothing to edit.

const STEP = 0.01;
const MIN_SIZE = 0.01;
const round = (value) => Math.round(value * 10000) / 10000;
const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

// ``initial``: boxes to start with (a model's pre-label), [{x, y, w, h, label}].
export function initBoxes(widget, initial = []) {
  const item = widget.closest("[data-item]");
  const stage = widget.querySelector("[data-stage]");
  const labelSelect = widget.querySelector("[data-bbox-label]");
  const list = widget.querySelector("[data-box-list]");
  const labelOptions = widget.querySelector("[data-label-options]");
  const readonly = "readonly" in widget.dataset;
  const start = readonly ? JSON.parse(widget.dataset.initial || "[]") : initial;
  const boxes = (Array.isArray(start) ? start : [])
    .filter((b) => b && [b.x, b.y, b.w, b.h].every(Number.isFinite))
    .map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, label: String(b.label) }));
  let selected = -1;
  let drag = null;

  function point(event) {
    const rect = stage.getBoundingClientRect();
    return { x: clamp((event.clientX - rect.left) / rect.width, 0, 1),
             y: clamp((event.clientY - rect.top) / rect.height, 0, 1) };
  }

  function fit(box) {
    box.w = clamp(box.w, MIN_SIZE, 1);
    box.h = clamp(box.h, MIN_SIZE, 1);
    box.x = clamp(box.x, 0, 1 - box.w);
    box.y = clamp(box.y, 0, 1 - box.h);
  }

  function select(index) {
    selected = index;
    render();
  }

  function render() {
    stage.querySelectorAll(".box").forEach((node) => node.remove());
    boxes.forEach((box, index) => {
      const node = document.createElement("div");
      node.className = "box" + (index === selected ? " selected" : "");
      node.dataset.index = index;
      node.style.left = `${box.x * 100}%`;
      node.style.top = `${box.y * 100}%`;
      node.style.width = `${box.w * 100}%`;
      node.style.height = `${box.h * 100}%`;
      const tag = document.createElement("span");
      tag.className = "box-tag";
      tag.textContent = `${index + 1} ${box.label}`;
      const handle = document.createElement("span");
      handle.className = "handle";
      handle.dataset.handle = "";
      node.append(tag, handle);
      stage.append(node);
    });
    list.replaceChildren();
    boxes.forEach((box, index) => {
      const li = document.createElement("li");
      if (readonly) {
        li.textContent = `Box ${index + 1}: ${box.label}, x ${Math.round(box.x * 100)}%, y ${Math.round(box.y * 100)}%, ${Math.round(box.w * 100)}% × ${Math.round(box.h * 100)}%`;
        list.append(li);
        return;
      }
      if (index === selected) li.className = "selected";
      const pick = document.createElement("button");
      pick.type = "button";
      pick.textContent = `Box ${index + 1}`;
      pick.setAttribute("aria-pressed", String(index === selected));
      pick.addEventListener("click", () => { select(index); stage.focus(); });
      const labelId = `${stage.id || item.dataset.itemId}-box-${index}`;
      const label = document.createElement("label");
      label.htmlFor = labelId;
      label.className = "visually-hidden";
      label.textContent = `Label of box ${index + 1}`;
      const choose = document.createElement("select");
      choose.id = labelId;
      choose.append(labelOptions.content.cloneNode(true));
      choose.value = box.label;
      choose.addEventListener("change", () => { box.label = choose.value; render(); choose.focus(); });
      const size = document.createElement("span");
      size.className = "hint";
      size.textContent = `x ${Math.round(box.x * 100)}%, y ${Math.round(box.y * 100)}%, ${Math.round(box.w * 100)}% × ${Math.round(box.h * 100)}%`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete box ${index + 1}`);
      remove.addEventListener("click", () => { boxes.splice(index, 1); select(-1); stage.focus(); });
      li.append(pick, " ", label, choose, " ", size, " ", remove);
      list.append(li);
    });
  }

  if (readonly) {
    stage.setAttribute("role", "img");
    stage.removeAttribute("tabindex");
    stage.removeAttribute("aria-roledescription");
    render();
    return;
  }
  stage.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    stage.focus();
    const at = point(event);
    const node = event.target.closest(".box");
    if (node) {
      const index = Number(node.dataset.index);
      const box = boxes[index];
      select(index);
      drag = event.target.closest("[data-handle]")
        ? { mode: "resize", box }
        : { mode: "move", box, dx: at.x - box.x, dy: at.y - box.y };
    } else {
      const box = { x: at.x, y: at.y, w: 0, h: 0, label: labelSelect.value };
      drag = { mode: "draw", box, origin: at };
    }
    stage.setPointerCapture(event.pointerId);
  });

  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const at = point(event);
    const { box } = drag;
    if (drag.mode === "move") {
      box.x = at.x - drag.dx;
      box.y = at.y - drag.dy;
      fit(box);
    } else if (drag.mode === "resize") {
      box.w = clamp(at.x - box.x, MIN_SIZE, 1 - box.x);
      box.h = clamp(at.y - box.y, MIN_SIZE, 1 - box.y);
    } else {
      box.x = Math.min(at.x, drag.origin.x);
      box.y = Math.min(at.y, drag.origin.y);
      box.w = Math.abs(at.x - drag.origin.x);
      box.h = Math.abs(at.y - drag.origin.y);
      if (!boxes.includes(box) && box.w > MIN_SIZE && box.h > MIN_SIZE) {
        boxes.push(box);
        selected = boxes.length - 1;
      }
    }
    render();
  });

  const finish = () => { drag = null; render(); };
  stage.addEventListener("pointerup", finish);
  stage.addEventListener("pointercancel", finish);

  stage.addEventListener("keydown", (event) => {
    const box = boxes[selected];
    if (!box) return;
    const moves = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] };
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      if (event.shiftKey) { box.w += dx; box.h += dy; } else { box.x += dx; box.y += dy; }
      fit(box);
      render();
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      boxes.splice(selected, 1);
      select(boxes.length ? boxes.length - 1 : -1);
    }
  });

  widget.querySelector("[data-bbox-add]").addEventListener("click", () => {
    boxes.push({ x: 0.35, y: 0.35, w: 0.3, h: 0.3, label: labelSelect.value });
    select(boxes.length - 1);
    stage.focus();
  });

  // Rounded to 4 places without ever reaching past the image edge.
  const within = (start, size) => Math.min(round(size), Math.floor((1 - round(start)) * 10000) / 10000);
  item.boxesValue = () => boxes.map((box) => ({
    x: round(box.x), y: round(box.y), w: within(box.x, box.w), h: within(box.y, box.h),
    label: box.label }));
  render();
}
