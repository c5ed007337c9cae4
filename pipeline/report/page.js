"use strict";
// The units arrive as gzip-compressed JSON (see pipeline/report); every text
// is put on the page with textContent, never parsed as markup.
const PAGE = 500;  // rows drawn at a time: the page stays quick at 10,000 units
const STATE_ORDER = { draft: 0, aligned: 1, approved: 2 };
const $ = (id) => document.getElementById(id);
let units = [], documents = [], shown = [], drawn = 0, current = -1;

async function unpack() {
  const bytes = Uint8Array.from(atob($("data").textContent.trim()), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const data = JSON.parse(await new Response(stream).text());
  documents = data.documents;
  units = data.units.map((u, index) => ({
    index, document: u[0], state: u[1], confidence: u[2], source: u[3], target: u[4],
    warnings: u[5], locations: u[6], beads: u[7],
    text: (u[3] + "\n" + u[4]).toLowerCase(),
  }));
}

// Worst first: drafts before aligned before approved, then by confidence,
// then by how many warnings, then in document order.
function worstFirst(a, b) {
  return STATE_ORDER[a.state] - STATE_ORDER[b.state]
    || (a.confidence ?? 1) - (b.confidence ?? 1)
    || b.warnings.length - a.warnings.length
    || a.index - b.index;
}

function filtered() {
  const doc = $("document").value, state = $("state").value, kind = $("kind").value;
  const low = parseFloat($("min").value), high = parseFloat($("max").value);
  const words = $("search").value.toLowerCase().trim();
  const found = units.filter((u) =>
    (doc === "" || u.document === Number(doc))
    && (state === "" || u.state === state)
    && (kind === "" || (kind === "-" ? u.warnings.length > 0 : u.warnings.some((w) => w[0] === kind)))
    && (isNaN(low) || (u.confidence ?? 1) >= low)
    && (isNaN(high) || (u.confidence ?? 1) <= high)
    && (words === "" || u.text.includes(words)));
  return $("order").value === "worst" ? found.sort(worstFirst) : found;
}

function cell(row, text, lang) {
  const td = row.insertCell();
  td.textContent = text;
  if (lang) td.lang = lang;
  return td;
}

function row(u) {
  const tr = document.createElement("tr");
  tr.dataset.unit = u.index;
  const score = tr.insertCell();
  if (u.confidence === null) {
    score.textContent = "—";
  } else {
    score.textContent = u.confidence.toFixed(2);
    const meter = score.appendChild(document.createElement("div"));
    meter.className = "meter";
    meter.setAttribute("role", "meter");
    meter.setAttribute("aria-valuenow", u.confidence);
    const bar = meter.appendChild(document.createElement("span"));
    bar.style.width = (100 * u.confidence) + "%";
    bar.style.background = colour(u.confidence);
  }
  cell(tr, u.source, "zh-CN");
  cell(tr, u.target, "en");
  const warnings = tr.insertCell();
  for (const [kind, message] of u.warnings) {
    const label = warnings.appendChild(document.createElement("span"));
    label.className = "label";
    label.textContent = kind;
    label.title = message;
  }
  cell(tr, u.state).className = "state-" + u.state;
  const where = cell(tr, u.locations.length ? u.locations.join(" ") : documents[u.document]);
  where.className = "location";
  return tr;
}

function drawMore() {
  const body = $("rows").tBodies[0];
  const end = Math.min(shown.length, drawn + PAGE);
  const rows = document.createDocumentFragment();
  for (; drawn < end; drawn++) rows.appendChild(row(shown[drawn]));
  body.appendChild(rows);
  $("more").hidden = drawn >= shown.length;
  $("more").textContent = "show more (" + (shown.length - drawn) + " left)";
}

function update() {
  shown = filtered();
  drawn = 0;
  current = -1;
  $("rows").tBodies[0].replaceChildren();
  drawMore();
  $("count").textContent = shown.length + " of " + units.length + " units";
}

function move(step) {
  const rows = $("rows").tBodies[0].rows;
  if (!rows.length) return;
  if (current + step >= rows.length && drawn < shown.length) drawMore();
  if (current >= 0 && rows[current]) rows[current].classList.remove("current");
  current = Math.max(0, Math.min(rows.length - 1, current + step));
  rows[current].classList.add("current");
  rows[current].scrollIntoView({ block: "nearest" });
}

function showBead(mark) {
  const u = units[Number(mark.dataset.unit)];
  document.querySelectorAll(".bead.chosen").forEach((m) => m.classList.remove("chosen"));
  mark.classList.add("chosen");
  const box = $("bead");
  box.replaceChildren();
  const title = box.appendChild(document.createElement("strong"));
  title.textContent = mark.dataset.bead + (u.confidence === null ? "" : "  confidence " + u.confidence.toFixed(2));
  for (const [text, lang] of [[u.source, "zh-CN"], [u.target, "en"]]) {
    const p = box.appendChild(document.createElement("p"));
    p.textContent = text;
    p.lang = lang;
  }
  box.hidden = false;
}

const SVG = "http://www.w3.org/2000/svg";

function svg(parent, name, attributes) {
  const element = parent.appendChild(document.createElementNS(SVG, name));
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

function colour(confidence) {
  return "hsl(" + Math.round(120 * Math.max(0, Math.min(1, confidence))) + " 70% 42%)";
}

// The alignment path of each document with beads: a mark per bead at
// (source sentences, target sentences); one with no counterpart on the axis, red.
function drawPlots(size = 300) {
  documents.forEach((name, number) => {
    const beads = [];
    for (const u of units) {
      if (u.document !== number) continue;
      for (const text of u.beads) {
        const [source, target] = text.split(":").map((side) => side.slice(1, -1).split(",").filter((i) => i !== "").map(Number));
        beads.push({ u, text, source, target });
      }
    }
    if (!beads.length) return;
    const sources = Math.max(...beads.flatMap((b) => b.source)) + 1;
    const targets = Math.max(0, ...beads.flatMap((b) => b.target)) + 1;
    const sx = size / sources, sy = size / targets, least = Math.max(2, Math.min(sx, sy));
    const figure = $("plots").appendChild(document.createElement("figure"));
    figure.className = "plot";
    figure.appendChild(document.createElement("figcaption")).textContent =
      name + ": " + beads.length + " beads, " + sources + " source × " + targets + " target sentences";
    const plot = svg(figure, "svg", { role: "img", "aria-label": "alignment dot plot of " + name,
      viewBox: `-30 -5 ${size + 40} ${size + 40}`, width: size + 40, height: size + 40 });
    svg(plot, "rect", { class: "frame", x: 0, y: 0, width: size, height: size });
    svg(plot, "line", { class: "diagonal", x1: 0, y1: size, x2: size, y2: 0 });
    svg(plot, "text", { x: size / 2, y: size + 28, "text-anchor": "middle" }).textContent = "source sentence";
    svg(plot, "text", { transform: `translate(-12 ${size / 2}) rotate(-90)`, "text-anchor": "middle" }).textContent = "target sentence";
    for (const b of beads) {
      const x0 = Math.min(...b.source), x1 = Math.max(...b.source) + 1;
      const paired = b.target.length > 0;
      const y1 = paired ? Math.max(...b.target) + 1 : 0, y0 = paired ? Math.min(...b.target) : 0;
      const mark = svg(plot, "rect", {
        class: "bead", "data-unit": b.u.index, "data-bead": b.text,
        x: (x0 * sx).toFixed(1), y: paired ? (size - y1 * sy).toFixed(1) : size,
        width: Math.max(least, (x1 - x0) * sx).toFixed(1), height: paired ? Math.max(least, (y1 - y0) * sy).toFixed(1) : least,
        fill: paired ? colour(b.u.confidence ?? 1) : "#d62728",
      });
      mark.addEventListener("click", () => showBead(mark));
    }
    $("alignments").hidden = false;
  });
}

document.addEventListener("keydown", (event) => {
  const typing = event.target.matches("input, select, textarea");
  if (event.key === "Escape" && typing) {  // leave the box, keep what it says
    event.preventDefault();
    event.target.blur();
    return;
  }
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") { event.preventDefault(); $("search").focus(); }
  else if (event.key === "j") move(1);
  else if (event.key === "k") move(-1);
});

unpack().then(() => {
  for (const id of ["document", "state", "kind", "min", "max", "order", "search"]) {
    $(id).addEventListener("input", update);
    $(id).addEventListener("change", update);
  }
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("more").addEventListener("click", drawMore);
  drawPlots();
  update();
  document.body.dataset.ready = "true";
});
