// Text spans: select in a read-only text box (mouse or Shift+arrows), pick a label, add.
// Offsets are counted in code points, as the server counts them (Python str indices).
// Read-only (data-readonly, the console's review): the spans of data-initial, shown the
// same way, with nothing to add or remove.

function codePointOffset(text, utf16Index) {
  return Array.from(text.slice(0, utf16Index)).length;
}

// ``initial``: spans to start with (a model's pre-label), [{start, end, label}].
export function initSpans(widget, initial = []) {
  const item = widget.closest("[data-item]");
  const source = widget.querySelector("[data-span-source]");
  const labelSelect = widget.querySelector("[data-span-label]");
  const list = widget.querySelector("[data-span-list]");
  const preview = widget.querySelector("[data-span-preview]");
  const text = source.value;
  const chars = Array.from(text);
  const readonly = "readonly" in widget.dataset;
  const start = readonly ? JSON.parse(widget.dataset.initial || "[]") : initial;
  const spans = (Array.isArray(start) ? start : [])
    .filter((s) => s && Number.isInteger(s.start) && Number.isInteger(s.end) && s.end > s.start)
    .map((s) => ({ start: s.start, end: s.end, label: String(s.label) }));

  function render() {
    list.replaceChildren();
    if (!spans.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No spans yet.";
      list.append(empty);
    }
    spans.forEach((span, index) => {
      const li = document.createElement("li");
      const quote = document.createElement("q");
      quote.textContent = chars.slice(span.start, span.end).join("");
      const label = document.createElement("span");
      label.className = "tag";
      label.textContent = span.label;
      li.append(quote, " ", label);
      list.append(li);
      if (readonly) return;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove span “${quote.textContent}” (${span.label})`);
      remove.addEventListener("click", () => {
        spans.splice(index, 1);
        render();
        source.focus();
      });
      li.append(" ", remove);
    });
    // The preview shows the text with the spans marked (sorted, overlaps drawn once).
    preview.replaceChildren();
    let at = 0;
    [...spans].sort((a, b) => a.start - b.start).forEach((span) => {
      if (span.start < at) return;
      preview.append(chars.slice(at, span.start).join(""));
      const mark = document.createElement("mark");
      mark.textContent = chars.slice(span.start, span.end).join("");
      mark.title = span.label;
      preview.append(mark);
      at = span.end;
    });
    preview.append(chars.slice(at).join(""));
  }

  function add() {
    const error = item.querySelector("[data-field-error]");
    const start = codePointOffset(text, source.selectionStart);
    const end = codePointOffset(text, source.selectionEnd);
    if (end <= start) {
      error.textContent = "Select some text first.";
      source.focus();
      return;
    }
    error.textContent = "";
    if (!spans.some((s) => s.start === start && s.end === end && s.label === labelSelect.value)) {
      spans.push({ start, end, label: labelSelect.value });
    }
    render();
    source.setSelectionRange(source.selectionEnd, source.selectionEnd);
  }

  if (readonly) {
    render();
    return;
  }
  // The text box stays editable only so the caret and Shift+arrows work (Chromium gives a
  // read-only one no caret); every edit is refused, and undone if one slips through.
  source.addEventListener("beforeinput", (event) => event.preventDefault());
  source.addEventListener("input", () => { source.value = text; });
  widget.querySelector("[data-span-add]").addEventListener("click", add);
  item.spansValue = () => spans.map((span) => ({ ...span }));
  render();
}
