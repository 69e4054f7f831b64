// What every task page shares (loaded before the page's own script): $ (an element by id), the model that ?model=NAME
// names, fail (an error in the status line) and openModel, which fetches the model's description and checks that its
// task has this page.
"use strict";

const $ = id => document.getElementById(id);
const name = new URLSearchParams(location.search).get("model");
const path = name ? name.split("/").map(encodeURIComponent).join("/") : "";

function fail(message) {
  $("status").textContent = message;
  $("status").className = "error";
}

// GET /api/models/NAME after setting the page's titles ("Title: NAME"); null, after saying why, when there is no
// model, it is unknown, or its task does not do this page's verb (any model has a page without a verb).
async function openModel(page, title, verb) {
  if (!name) { fail("No model chosen: pick one on the index."); return null; }
  $("title").textContent = `${title}: ${name}`;
  document.title = `${name} · ${page} · recurrent serve`;
  const response = await fetch(`/api/models/${path}`);
  if (!response.ok) { fail((await response.json()).error); return null; }
  const model = await response.json();
  if (verb && !model.pages.includes(page)) { fail(`${name} is a ${model.task} model: it does not ${verb}.`); return null; }
  return model;
}
