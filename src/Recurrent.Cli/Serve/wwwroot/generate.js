// The generate page: POST /api/models/NAME/generate with Accept: text/event-stream, and each "chunk" event's text
// appended to the output as it arrives; the "done" event ends it. ?model=NAME picks the model.
"use strict";

let model = null, controller = null;

async function load() {
  model = await openModel("generate", "Generate", "generate");
  if (!model) return;
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters` +
    (model.step != null ? `, step ${model.step.toLocaleString("en")}` : "");
  if (model.task === "generate") {
    $("prime-field").hidden = true;
    $("condition-field").hidden = false;
    $("length-label").textContent = "length (at most, words)";
    $("length").value = 50;
    if (model.labels) {
      $("condition-vector").hidden = true;
      for (const label of model.labels) $("condition-label").add(new Option(label, label));
    } else {
      $("condition-label").hidden = true;
      $("condition-vector").placeholder = `${model.vector_size} numbers separated by spaces`;
    }
  } else $("prime").value = "\n";
  $("form").hidden = false;
}

function request() {
  const body = {
    temperature: Number($("temperature").value),
    top_k: Number($("top_k").value),
    length: Number($("length").value),
  };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  if (model.task === "generate")
    body.condition = model.labels ? $("condition-label").value
      : $("condition-vector").value.trim().split(/\s+/).map(Number);
  else if ($("prime").value !== "") body.prime = $("prime").value;
  return body;
}

async function generate(event) {
  event.preventDefault();
  const output = $("output");
  output.textContent = "";
  $("status").className = "muted";
  $("status").textContent = "Generating…";
  $("generate").disabled = true;
  $("stop").disabled = false;
  controller = new AbortController();
  const started = performance.now();
  let received = 0;
  try {
    const response = await fetch(`/api/models/${path}/generate`, {
      method: "POST", signal: controller.signal,
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(request()),
    });
    if (!response.ok) { fail((await response.json()).error); return; }
    const body = request();
    if (body.prime !== undefined) {
      const prime = document.createElement("span");
      prime.className = "prime";
      prime.textContent = body.prime;
      output.appendChild(prime);
    }
    const generated = document.createElement("span");
    generated.id = "generated";
    output.appendChild(generated);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "", done = null;
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const type = (block.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1]);
        if (type === "chunk") {
          generated.textContent += data.text;
          generated.dataset.chunks = Number(generated.dataset.chunks || 0) + 1;
          received += [...data.text].length;
          $("status").textContent = `Generating… ${received} so far`;
        } else if (type === "done") done = data;
        else if (type === "error") { fail(data.error); return; }
      }
    }
    if (done) {
      const unit = done.characters !== undefined ? "characters" : "words";
      const count = done.characters !== undefined ? done.characters : done.words;
      $("status").textContent = `${count} ${unit} in ${done.seconds.toFixed(2)} s (seed ${done.seed})`;
      $("status").dataset.done = "true";
    }
  } catch (e) {
    if (e.name === "AbortError") $("status").textContent = `Stopped after ${received}.`;
    else fail(`The request failed: ${e.message}`);
  } finally {
    $("generate").disabled = false;
    $("stop").disabled = true;
    controller = null;
  }
}

$("form").addEventListener("submit", generate);
$("stop").addEventListener("click", () => controller && controller.abort());
load().catch(e => fail(`Could not read the model: ${e.message}`));
