// The tag page: POST /api/models/NAME/tag {"text"} and the answer drawn as the sentence with its entities highlighted,
// a colour per entity type (the legend lists the model's types), then every token's tag. ?model=NAME picks the model.
"use strict";

const palette = ["#ffd8a8", "#b2f2bb", "#a5d8ff", "#fcc2d7", "#d0bfff", "#ffec99", "#99e9f2", "#e9ecef", "#ffc9c9", "#c0eb75"];
let types = [];  // the model's entity types, in order: the index of a type picks its colour

// The entity types of a BIO tag set: what follows "B-" or "I-", each once, in the order of the tags.
function typesOf(labels) {
  const seen = [];
  for (const label of labels) {
    const dash = label.indexOf("-");
    if (dash < 0 || (dash === 1 && label[0] === "O")) continue;
    const type = label.slice(dash + 1);
    if (!seen.includes(type)) seen.push(type);
  }
  return seen;
}

function colour(type) {
  let i = types.indexOf(type);
  if (i < 0) { types.push(type); i = types.length - 1; }
  return palette[i % palette.length];
}

async function load() {
  const model = await openModel("tag", "Tag", "tag");
  if (!model) return;
  types = typesOf(model.labels || []);
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters, tags ${(model.labels || []).join(", ")}`;
  $("form").hidden = false;
}

function legend(shown) {
  const list = $("legend");
  list.replaceChildren();
  for (const type of types) {
    const item = document.createElement("li");
    item.dataset.type = type;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour(type);
    item.append(swatch, type);
    if (!shown.has(type)) item.className = "muted";
    list.appendChild(item);
  }
}

async function tag(event) {
  event.preventDefault();
  $("status").className = "muted";
  $("status").textContent = "Tagging…";
  $("result").hidden = true;
  $("tag").disabled = true;
  try {
    const response = await fetch(`/api/models/${path}/tag`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("text").value }),
    });
    const answer = await response.json();
    if (!response.ok) { fail(answer.error); return; }
    // The sentence: tokens outside entities as text, each entity a <mark> of its type's colour holding its tokens.
    const sentence = $("sentence");
    sentence.replaceChildren();
    let t = 0;
    for (const entity of [...answer.entities, null]) {
      const until = entity ? entity.start : answer.tokens.length;
      for (; t < until; t++) sentence.append(answer.tokens[t] + " ");
      if (!entity) break;
      const mark = document.createElement("mark");
      mark.className = "entity";
      mark.dataset.type = entity.type;
      mark.dataset.start = entity.start;
      mark.dataset.end = entity.end;
      mark.style.background = colour(entity.type);
      mark.title = `${entity.type}: tokens ${entity.start}–${entity.end - 1}`;
      mark.append(entity.text);
      const label = document.createElement("span");
      label.className = "type";
      label.textContent = entity.type;
      mark.appendChild(label);
      sentence.append(mark, " ");
      t = entity.end;
    }
    legend(new Set(answer.entities.map(e => e.type)));
    const body = document.querySelector("#tags tbody");
    body.replaceChildren();
    answer.tokens.forEach((token, i) => {
      const row = body.insertRow();
      row.insertCell().textContent = token;
      row.insertCell().textContent = answer.tags[i];
    });
    $("unknown").textContent = answer.unknown_words === 0 ? ""
      : `${answer.unknown_words} of ${answer.tokens.length} words unknown to the model (read as <unk>).`;
    $("result").hidden = false;
    const n = answer.entities.length;
    $("status").textContent = `${n} entit${n === 1 ? "y" : "ies"} in ${answer.tokens.length} tokens.`;
    $("status").dataset.done = "true";
  } catch (e) {
    fail(`The request failed: ${e.message}`);
  } finally {
    $("tag").disabled = false;
  }
}

$("form").addEventListener("submit", tag);
load().catch(e => fail(`Could not read the model: ${e.message}`));
