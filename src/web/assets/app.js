// watchword dashboard: the only script, and an optional one. Every page works without it; it
// adds a Copy button to the workbench's TOML. Served from the daemon under a CSP that allows
// no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(source.textContent).then(
        () => { button.textContent = "Copied"; },
        () => { button.textContent = "Select and copy by hand"; }
      );
    });
  }
});
