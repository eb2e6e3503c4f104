// Progressive enhancement only: every page works without this script.
"use strict";

const STATUS_KINDS = {
  DEPLOYED: "ok", READY: "ok", DEPLOY_FAILED: "bad",
  CREATING: "busy", QUEUED: "busy", AWAITING_DEPLOY: "busy", DEPLOYING: "busy",
  AWAITING_DATABASE: "busy", AWAITING_DELETE: "busy",
};
const POLL_MS = 2000;

function statusBadge(value) {
  const badge = document.createElement("span");
  badge.className = "status status-" + (STATUS_KINDS[value] || "idle");
  badge.textContent = value;
  return badge;
}

// Live status on a deployment's page: poll the JSON view and update the text in place.
function watchDeployment(root) {
  const url = root.dataset.statusUrl;
  const note = root.querySelector("[data-live-note]");
  let timer = null;

  async function poll() {
    timer = null;
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    } catch (error) {
      note.textContent = "Live status paused: the server cannot be reached.";
      schedule();
      return;
    }
    if (response.status === 404) {
      note.textContent = "This deployment no longer exists.";
      return;
    }
    if (!response.ok || !(response.headers.get("content-type") || "").includes("application/json")) {
      note.textContent = "Live status stopped: reload the page (you may need to sign in again).";
      return;
    }
    const live = await response.json();
    root.querySelector("[data-live-deployment-status]").replaceChildren(statusBadge(live.status));
    const active = root.querySelector("[data-live-active]");
    if (live.active_revision_id) {
      const code = document.createElement("code");
      code.textContent = live.active_revision_id.slice(0, 8);
      active.replaceChildren(code);
    }
    for (const revision of live.revisions) {
      const cell = root.querySelector(`[data-live-revision="${revision.id}"]`);
      if (!cell) {
        note.textContent = "A newer revision exists: reload the page to see it.";
        continue;
      }
      const parts = [statusBadge(revision.status)];
      if (revision.status_message) {
        const message = document.createElement("span");
        message.className = "sub";
        message.textContent = revision.status_message;
        parts.push(document.createTextNode(" "), message);
      }
      cell.replaceChildren(...parts);
    }
    for (const tag of root.querySelectorAll("[data-active-tag]")) {
      const row = tag.closest("tr");
      const cell = row && row.querySelector("[data-live-revision]");
      tag.hidden = !cell || cell.dataset.liveRevision !== live.active_revision_id;
    }
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) poll();
  });
  schedule();
}

// "Add a row" for repeated groups: clones the last row with the next index and empty values.
function enableAddRow(container) {
  const button = container.querySelector("[data-add-row]");
  const group = container.dataset.rows;
  button.hidden = false;
  button.addEventListener("click", () => {
    const rows = container.querySelectorAll("[data-row]");
    const last = rows[rows.length - 1];
    const index = rows.length;
    const copy = last.cloneNode(true);
    for (const error of copy.querySelectorAll(".error")) error.remove();
    for (const field of copy.querySelectorAll(".field")) field.classList.remove("has-error");
    for (const input of copy.querySelectorAll("input")) {
      const column = input.name.split(".").pop();
      input.name = `${group}.${index}.${column}`;
      input.id = `f-${group}-${index}-${column}`;
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    for (const label of copy.querySelectorAll("label")) {
      const column = label.htmlFor.split("-").pop();
      label.htmlFor = `f-${group}-${index}-${column}`;
      label.querySelector(".row-number").textContent = String(index + 1);
    }
    last.after(copy);
    copy.querySelector("input").focus();
  });
}

// Sections the server redraws (metrics charts, the first page of runtime logs): every 20 s,
// fetch the same section again and swap its parts in place (open "Values" stay open). Without
// this script those pages are static (reload, or filter again).
const REFRESH_MS = 20000;

function refreshInPlace(element, swap) {
  async function refresh() {
    if (!document.hidden) {
      try {
        const response = await fetch(element.dataset.refreshUrl, { credentials: "same-origin" });
        if (!response.ok) return; // signed out or gone: keep what is shown, stop refreshing
        swap(new DOMParser().parseFromString(await response.text(), "text/html"));
      } catch (error) {
        // The server cannot be reached: try again at the next tick.
      }
    }
    setTimeout(refresh, REFRESH_MS);
  }
  setTimeout(refresh, REFRESH_MS);
}

function replacePart(old, now) {
  if (old && now) old.replaceWith(document.importNode(now, true));
}

function refreshMetrics(section) {
  refreshInPlace(section, (fresh) => {
    for (const chart of section.querySelectorAll("figure[data-figure]")) {
      const next = fresh.querySelector(`figure[data-figure="${chart.dataset.figure}"]`);
      if (!next) continue;
      for (const part of ["svg", ".chart-latest", ".chart-scale", "tbody"]) {
        replacePart(chart.querySelector(part), next.querySelector(part));
      }
    }
  });
}

function refreshLogs(view) {
  refreshInPlace(view, (fresh) => {
    for (const part of ["[data-log-entries]", "nav.pager"]) {
      replacePart(view.querySelector(part), fresh.querySelector(`.log-view ${part}`));
    }
  });
}

function enableCopy(button) {
  const input = document.getElementById(button.dataset.copy);
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = "Copied";
    } catch (error) {
      input.select();
      button.textContent = "Press Ctrl+C to copy";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (live) watchDeployment(live);
  document.querySelectorAll("[data-rows]").forEach(enableAddRow);
  document.querySelectorAll("[data-copy]").forEach(enableCopy);
  document.querySelectorAll("section.metrics[data-refresh-url]").forEach(refreshMetrics);
  document.querySelectorAll(".log-view[data-refresh-url]").forEach(refreshLogs);
  const summary = document.querySelector(".error-summary");
  if (summary) {
    const firstInvalid = document.querySelector("[aria-invalid=true]");
    (firstInvalid || summary).focus();
  }
});
