// The console's only script: live figures over server-sent events, and "select all" in a table.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (document.querySelector("[data-live]")) {
    const state = document.getElementById("live-state");
    const source = new EventSource("/events");
    source.onmessage = (event) => {
      const figures = JSON.parse(event.data);
      for (const cell of document.querySelectorAll("[data-figure]")) {
        const value = figures[cell.dataset.figure];
        const text = String(value === undefined ? 0 : value);
        if (cell.textContent !== text) {
          cell.textContent = text;
          cell.classList.add("changed");
          setTimeout(() => cell.classList.remove("changed"), 1500);
        }
      }
      if (state) state.textContent = "Figures update live; last update " + new Date().toLocaleTimeString() + ".";
    };
    source.onerror = () => { if (state) state.textContent = "Live updates interrupted; retrying…"; };
  }
  for (const box of document.querySelectorAll("[data-select-all]")) {
    box.addEventListener("change", () => {
      for (const other of box.closest("table").querySelectorAll("tbody input[type=checkbox]")) {
        other.checked = box.checked;
      }
    });
  }
});
