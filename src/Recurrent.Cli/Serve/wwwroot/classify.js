// The classify page: POST /api/models/NAME/classify {"text"} and the answer drawn as the label and one bar per class
// probability, likeliest first. ?model=NAME picks the model.
"use strict";

async function load() {
  const model = await openModel("classify", "Classify", "classify");
  if (!model) return;
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters, labels ${model.labels.join(", ")}`;
  $("form").hidden = false;
}

async function classify(event) {
  event.preventDefault();
  $("status").className = "muted";
  $("status").textContent = "Classifying…";
  $("result").hidden = true;
  $("classify").disabled = true;
  try {
    const response = await fetch(`/api/models/${path}/classify`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value }),
    });
    const answer = await response.json();
    if (!response.ok) { fail(answer.error); return; }
    $("label").textContent = answer.label;
    $("probability").textContent = `(${(100 * answer.probability).toFixed(1)} %)`;
    const body = document.querySelector("#bars tbody");
    body.replaceChildren();
    const classes = Object.entries(answer.probabilities).sort((a, b) => b[1] - a[1]);
    for (const [label, p] of classes) {
      const row = body.insertRow();
      row.dataset.label = label;
      row.dataset.probability = p;
      row.insertCell().textContent = label;
      const bar = document.createElement("div");
      bar.className = "bar" + (label === answer.label ? " chosen" : "");
      bar.style.width = `${(100 * p).toFixed(2)}%`;
      const track = row.insertCell();
      track.className = "track";
      track.appendChild(bar);
      const value = row.insertCell();
      value.className = "number";
      value.textContent = p.toFixed(4);
    }
    $("unknown").textContent = answer.unknown_words === 0 ? ""
      : `${answer.unknown_words} of ${answer.words.length} words unknown to the model (read as <unk>).`;
    $("result").hidden = false;
    $("status").textContent = "";
    $("status").dataset.done = "true";
  } catch (e) {
    fail(`The request failed: ${e.message}`);
  } finally {
    $("classify").disabled = false;
  }
}

$("form").addEventListener("submit", classify);
load().catch(e => fail(`Could not read the model: ${e.message}`));
