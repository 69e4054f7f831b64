// The translate page: POST /api/models/NAME/translate {"text", "beam"} and the answer drawn as the translation and
// its attention heat map, a table with a row per target token and a column per source token; a cell's title says
// "target ← source (weight)". ?model=NAME picks the model.
"use strict";

async function load() {
  const model = await openModel("translate", "Translate", "translate");
  if (!model) return;
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters`;
  $("form").hidden = false;
}

function heatMap(answer) {
  const table = $("attention");
  const head = table.tHead;
  head.replaceChildren();
  const top = head.insertRow();
  top.appendChild(document.createElement("th"));
  for (const token of answer.source_tokens) {
    const th = document.createElement("th");
    th.className = "source";
    th.textContent = token;
    top.appendChild(th);
  }
  const body = table.tBodies[0];
  body.replaceChildren();
  answer.target_tokens.forEach((target, t) => {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.className = "target";
    th.textContent = target;
    row.appendChild(th);
    answer.source_tokens.forEach((source, s) => {
      const weight = answer.attention[t][s];
      const cell = row.insertCell();
      cell.className = "weight";
      cell.dataset.weight = weight;
      cell.title = `${target} ← ${source} (${weight.toFixed(3)})`;
      const w = Math.min(1, Math.max(0, weight));
      cell.style.background = `rgba(31, 119, 180, ${w.toFixed(3)})`;
    });
  });
}

async function translate(event) {
  event.preventDefault();
  $("status").className = "muted";
  $("status").textContent = "Translating…";
  $("result").hidden = true;
  $("translate").disabled = true;
  try {
    const beam = $("beam").value.trim();
    const response = await fetch(`/api/models/${path}/translate`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value, beam: beam === "" ? null : Number(beam) }),
    });
    const answer = await response.json();
    if (!response.ok) { fail(answer.error); return; }
    $("translation").textContent = answer.translation;
    const has = answer.attention != null;
    $("attention").hidden = !has;
    $("attention-about").textContent = has
      ? "Attention: a row per target token, a column per source token; the darker the cell, the more weight. Hover a cell for its weight."
      : "This model has no attention.";
    if (has) heatMap(answer);
    $("result").hidden = false;
    $("status").textContent = `beam ${answer.beam}, ${answer.source_tokens.length} source tokens → ${answer.target_tokens.length} target tokens in ${answer.seconds.toFixed(3)} s`
      + (answer.unknown_words ? `; ${answer.unknown_words} source words unknown to the model` : "") + ".";
    $("status").dataset.done = "true";
  } catch (e) {
    fail(`The request failed: ${e.message}`);
  } finally {
    $("translate").disabled = false;
  }
}

$("form").addEventListener("submit", translate);
load().catch(e => fail(`Could not read the model: ${e.message}`));
