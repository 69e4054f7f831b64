// The cells page: POST /api/models/NAME/cells {"text", "layer", "unit"} and the text drawn with each character's
// background coloured by that unit's activation after it (red positive, blue negative, as `recurrent analyze cells`'
// page). ?model=NAME picks a char-lm.
"use strict";

// An activation in [-scale, scale] as a colour between blue, white and red.
function colour(a, scale) {
  const t = Math.max(-1, Math.min(1, a / scale));
  const [r, g, b] = t >= 0 ? [214, 39, 40] : [31, 119, 180];
  const k = Math.abs(t);
  const mix = (c) => Math.round(255 + (c - 255) * k);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

async function load() {
  const model = await openModel("cells", "Cells", "colour characters by a cell");
  if (!model) return;
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters`;
  $("text").value = "First Citizen:\nBefore we proceed any further, hear me speak.\n";
  $("form").hidden = false;
}

async function show(event) {
  event.preventDefault();
  $("status").className = "muted";
  $("status").textContent = "Reading…";
  $("status").dataset.done = "";
  $("result").hidden = true;
  $("colour").disabled = true;
  try {
    const response = await fetch(`/api/models/${path}/cells`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value, layer: Number($("layer").value), unit: Number($("unit").value) }),
    });
    const answer = await response.json();
    if (!response.ok) { fail(answer.error); return; }
    const scale = answer.bounded ? 1 : Math.max(1e-6, ...answer.activations.map(Math.abs));
    const out = $("coloured");
    out.replaceChildren();
    answer.characters.forEach((c, i) => {
      const span = document.createElement("span");
      span.textContent = c;
      span.style.backgroundColor = colour(answer.activations[i], scale);
      span.dataset.activation = answer.activations[i];
      span.title = `${JSON.stringify(c)}: ${answer.activations[i].toFixed(4)}`;
      out.appendChild(span);
    });
    $("cell").textContent = `cell ${answer.cell} of ${answer.layers} × ${answer.hidden}, ${answer.quantity}`;
    $("result").hidden = false;
    $("status").textContent = `${answer.characters.length} characters in ${answer.seconds.toFixed(3)} s`;
    $("status").dataset.done = "true";
  } catch (e) {
    fail(`The request failed: ${e.message}`);
  } finally {
    $("colour").disabled = false;
  }
}

$("form").addEventListener("submit", show);
load().catch(e => fail(`Could not read the model: ${e.message}`));
