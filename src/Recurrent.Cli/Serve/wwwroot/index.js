// The index: one row per model of GET /api/models, with a link to each page its task has.
"use strict";

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function validation(v) {
  if (!v) return "–";
  const name = v.name.replace(/^dev_/, "dev ").replace(/_/g, " ");
  let text = `${name} ${v.value.toFixed(4)}`;
  if (v.name === "val_loss") text += ` (${(v.value / Math.LN2).toFixed(3)} bits)`;
  return text + ` at step ${v.step.toLocaleString("en")}`;
}

async function load() {
  const status = document.getElementById("status");
  document.getElementById("where").textContent = location.host;
  try {
    const response = await fetch("/api/models");
    if (!response.ok) throw new Error(`GET /api/models: ${response.status}`);
    const models = await response.json();
    const body = document.querySelector("#models tbody");
    for (const m of models) {
      const row = body.insertRow();
      row.dataset.model = m.name;
      cell(row, m.name);
      const task = cell(row, "");
      const badge = document.createElement("span");
      badge.className = "task";
      badge.textContent = m.task;
      task.appendChild(badge);
      cell(row, m.parameters.toLocaleString("en"), "number");
      cell(row, m.step == null ? "–" : m.step.toLocaleString("en"), "number");
      cell(row, validation(m.validation));
      const pages = cell(row, "");
      if (m.pages.length === 0) pages.innerHTML = '<span class="muted">not served yet</span>';
      for (const page of m.pages) {
        const a = document.createElement("a");
        a.href = `/${page}?model=${encodeURIComponent(m.name)}`;
        a.textContent = page;
        pages.appendChild(a);
      }
      const training = document.createElement("a");
      training.href = `/training?model=${encodeURIComponent(m.name)}`;
      training.textContent = "training";
      cell(row, "").appendChild(training);
    }
    document.getElementById("models").hidden = models.length === 0;
    status.textContent = models.length === 0
      ? "No models under the models directory: train one (recurrent train --out DIR), then reload."
      : `${models.length} model${models.length === 1 ? "" : "s"}.`;
  } catch (e) {
    status.textContent = `Could not read the models: ${e.message}`;
    status.className = "error";
  }
}

load();
