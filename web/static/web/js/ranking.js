// Ranking: reorder by drag and drop, by the arrow buttons, or Alt+Up/Down on an entry.

export function initRanking(list) {
  // Read-only (the console's review): the worker's order, as rendered by the server.
  if ("readonly" in list.dataset) return;
  let dragged = null;

  function move(li, step) {
    const sibling = step < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (!sibling) return;
    if (step < 0) sibling.before(li); else sibling.after(li);
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    move(button.closest("li"), Number(button.dataset.move));
    button.focus();
  });
  list.addEventListener("keydown", (event) => {
    const li = event.target.closest("li");
    if (!li || !event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    move(li, event.key === "ArrowUp" ? -1 : 1);
    li.focus();
  });
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.option);
  });
  list.addEventListener("dragover", (event) => {
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const box = over.getBoundingClientRect();
    if (event.clientY < box.top + box.height / 2) over.before(dragged); else over.after(dragged);
  });
  list.addEventListener("drop", (event) => event.preventDefault());
  list.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });
}
