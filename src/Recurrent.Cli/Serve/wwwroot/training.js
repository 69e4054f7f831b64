// The training page: the run's log.jsonl as curves — the train loss as a line, the validation losses as points — read
// with GET /api/models/NAME/log?after=STEP every 2 s, so the chart grows as the run logs. ?model=NAME picks the model.
"use strict";

const entries = [];
let lastStep = null;
const svg = "http://www.w3.org/2000/svg";
// The chart's size and margins (not "top": that name is the window's).
const W = 800, H = 360, mLeft = 60, mRight = 20, mTop = 16, mBottom = 40;

function element(tag, attributes, text) {
  const e = document.createElementNS(svg, tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function draw() {
  const train = entries.filter(e => e.train_loss != null), val = entries.filter(e => e.val_loss != null);
  const losses = train.map(e => e.train_loss).concat(val.map(e => e.val_loss));
  if (entries.length === 0 || losses.length === 0) return;
  const x0 = Math.min(...entries.map(e => e.step)), x1 = Math.max(x0 + 1, ...entries.map(e => e.step));
  let y0 = Math.min(...losses), y1 = Math.max(...losses);
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad; y1 += pad;
  const x = s => mLeft + (s - x0) / (x1 - x0) * (W - mLeft - mRight);
  const y = v => mTop + (y1 - v) / (y1 - y0) * (H - mTop - mBottom);

  const grid = $("grid");
  grid.replaceChildren();
  for (let i = 0; i <= 4; i++) {
    const v = y0 + (y1 - y0) * i / 4;
    grid.appendChild(element("line", { x1: mLeft, x2: W - mRight, y1: y(v), y2: y(v), class: "grid" }));
    grid.appendChild(element("text", { x: mLeft - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(3)));
  }
  for (let i = 0; i <= 4; i++) {
    const s = Math.round(x0 + (x1 - x0) * i / 4);
    grid.appendChild(element("text", { x: x(s), y: H - mBottom + 18, "text-anchor": "middle" }, s.toLocaleString("en")));
  }
  grid.appendChild(element("text", { x: (mLeft + W - mRight) / 2, y: H - 4, "text-anchor": "middle", class: "axis" }, "step"));
  grid.appendChild(element("text", { x: 14, y: (mTop + H - mBottom) / 2, "text-anchor": "middle", class: "axis",
    transform: `rotate(-90 14 ${(mTop + H - mBottom) / 2})` }, "loss (nats)"));

  $("train").setAttribute("points", train.map(e => `${x(e.step).toFixed(1)},${y(e.train_loss).toFixed(1)}`).join(" "));
  $("train").dataset.count = train.length;
  const points = $("val");
  points.replaceChildren();
  for (const e of val) {
    const c = element("circle", { cx: x(e.step), cy: y(e.val_loss), r: 4, class: "val" });
    c.dataset.step = e.step;
    c.appendChild(element("title", {}, `step ${e.step}: validation loss ${e.val_loss.toFixed(4)}`));
    points.appendChild(c);
  }

  const last = entries[entries.length - 1];
  $("last-step").textContent = last.step.toLocaleString("en");
  $("last-step").dataset.step = last.step;
  $("last-loss").textContent = last.train_loss == null ? "–" : last.train_loss.toFixed(4);
  if (val.length > 0) {
    const best = val.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
    $("best-val").textContent = best.val_loss.toFixed(4);
    $("best-val").dataset.value = best.val_loss;
    $("best-step").textContent = `at step ${best.step.toLocaleString("en")}`;
  }
  $("summary").hidden = false;
}

async function poll() {
  try {
    const response = await fetch(`/api/models/${path}/log` + (lastStep == null ? "" : `?after=${lastStep}`));
    const answer = await response.json();
    if (!response.ok) { fail(answer.error); return; }
    if (answer.entries.length > 0) {
      entries.push(...answer.entries);
      lastStep = answer.entries[answer.entries.length - 1].step;
      draw();
    }
    $("status").className = "muted";
    $("status").textContent = entries.length === 0 ? "No log lines yet (log.jsonl appears when the run logs its first step)." : "";
    $("status").dataset.polls = Number($("status").dataset.polls || 0) + 1;
  } catch (e) {
    fail(`Could not read the log: ${e.message}`);
  }
  setTimeout(poll, 2000);
}

async function load() {
  const model = await openModel("training", "Training", null);
  if (!model) return;
  $("about").textContent = `${model.task} model, ${model.parameters.toLocaleString("en")} parameters` +
    (model.step == null ? "" : `, weights of step ${model.step.toLocaleString("en")}`);
  await poll();
}

load().catch(e => fail(`Could not read the model: ${e.message}`));
