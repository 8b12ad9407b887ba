// The page served at /: it talks only to the documented API (/v1/models, /v1/caption,
// /v1/classify), so it is also an example of using it. No framework, nothing fetched from
// elsewhere.

const LAMBDAS = [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];
// Photos from Google Coral's test data (Apache-2.0), resized: none is in any training set.
const SAMPLES = [
  ["samples/pets.jpg", "two dogs running on grass"],
  ["samples/cat.jpg", "a cat"],
  ["samples/bird.jpg", "a small bird on a branch"],
  ["samples/grace_hopper.jpg", "a portrait of a person in uniform"],
];
// Viridis, a palette made to stay distinguishable for colour-blind readers and in grey.
const VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"];
const MEANING = {
  400: "The request could not be read",
  401: "This server needs an API key",
  413: "Too large for this server",
  415: "Not an image this server can read",
  422: "The server refused the request",
  429: "The server is busy; try again in a moment",
  503: "The server is not ready yet",
};

const $ = (id) => document.getElementById(id);
const state = {
  image: undefined,
  numExits: 6,
  apiKey: sessionStorage.getItem("beem-api-key") ?? undefined,
  run: 0,
  /** Until the slider or the rule is touched, captions use the bundle's own policy. */
  touched: false,
};

/** Colour of exit layer `layer` (1-based) of `n`, and a text colour readable on it. */
function layerColour(layer, n) {
  const t = n <= 1 ? 1 : (layer - 1) / (n - 1);
  const i = Math.round(t * (VIRIDIS.length - 1));
  return { background: VIRIDIS[i], color: i >= 3 ? "#111" : "#fff" };
}

function headers(extra = {}) {
  return state.apiKey ? { ...extra, Authorization: `Bearer ${state.apiKey}` } : extra;
}

/** An Error carrying the API's message, readable. */
async function apiError(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.status === 401) $("auth").hidden = false;
  const message = body?.error?.message ?? res.statusText;
  const meaning = MEANING[res.status] ?? `Error ${res.status}`;
  return new Error(`${meaning}: ${message}`);
}

function showError(error) {
  const box = $("error");
  if (error === undefined) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function policyParams() {
  const params = new URLSearchParams();
  if (!state.touched) return params;
  params.set("rule", $("rule").value);
  params.set("lambda", String(LAMBDAS[Number($("lambda").value)]));
  return params;
}

function wordElement(token) {
  const el = document.createElement("span");
  const { background, color } = layerColour(token.exitLayer, state.numExits);
  el.className = "word";
  el.dataset.layer = String(token.exitLayer);
  el.style.background = background;
  el.style.color = color;
  el.setAttribute("aria-label", `${token.text}, layer ${token.exitLayer}`);
  el.textContent = token.text;
  const sub = document.createElement("sub");
  sub.textContent = String(token.exitLayer);
  sub.setAttribute("aria-hidden", "true");
  el.append(sub);
  return el;
}

function stats(meanExitLayer, ms) {
  return `mean exit layer ${meanExitLayer.toFixed(2)} of ${state.numExits} · ${ms.toFixed(1)} ms on the server`;
}

/** Streams the early-exit caption: words appear as they are decided. */
async function streamCaption(blob, params, run) {
  const res = await fetch(`/v1/caption?${params}`, {
    method: "POST",
    headers: headers({
      "Content-Type": blob.type || "application/octet-stream",
      Accept: "text/event-stream",
    }),
    body: blob,
  });
  if (!res.ok) throw await apiError(res);
  const caption = $("early-caption");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
      if (run !== state.run) continue; // a newer request replaced this one
      if (event === "token") caption.append(wordElement(data));
      else if (event === "done") done = data;
      else if (event === "error") throw new Error(data?.error?.message ?? "The caption failed");
    }
  }
  return done;
}

async function fullCaption(blob) {
  const res = await fetch("/v1/caption?full=true", {
    method: "POST",
    headers: headers({ "Content-Type": blob.type || "application/octet-stream" }),
    body: blob,
  });
  if (!res.ok) throw await apiError(res);
  return res.json();
}

/** Captions the current image at the chosen setting and at full depth, one after the other. */
async function caption() {
  if (state.image === undefined) return;
  const run = ++state.run;
  showError(undefined);
  for (const id of ["early-caption", "full-caption", "early-stats", "full-stats"])
    $(id).replaceChildren();
  $("early-stats").textContent = "captioning…";
  try {
    const done = await streamCaption(state.image, policyParams(), run);
    if (run !== state.run) return;
    if (done) $("early-stats").textContent = stats(done.meanExitLayer, done.totalMs);
    $("full-stats").textContent = "captioning…";
    const full = await fullCaption(state.image);
    if (run !== state.run) return;
    $("full-caption").replaceChildren(...full.tokens.map(wordElement));
    $("full-stats").textContent = stats(full.meanExitLayer, full.timings.totalMs);
  } catch (error) {
    if (run !== state.run) return;
    $("early-stats").textContent = "";
    $("full-stats").textContent = "";
    showError(error);
  }
}

let pending;
function captionSoon() {
  clearTimeout(pending);
  pending = setTimeout(() => void caption(), 150);
}

function useImage(blob, label) {
  state.image = blob;
  const preview = $("preview");
  if (blob.type.startsWith("image/")) {
    preview.src = URL.createObjectURL(blob);
    preview.alt = label;
    preview.hidden = false;
  } else preview.hidden = true;
  clearTimeout(pending);
  void caption(); // a new image at once; slider moves wait for the next one (captionSoon)
}

function legend() {
  const items = [];
  for (let layer = 1; layer <= state.numExits; layer++) {
    const el = wordElement({ text: `layer ${layer}`, exitLayer: layer });
    el.querySelector("sub").remove();
    items.push(el);
  }
  const title = document.createElement("span");
  title.textContent = "Exit layer:";
  $("legend").replaceChildren(title, ...items);
}

async function loadModels() {
  const res = await fetch("/v1/models", { headers: headers() });
  if (!res.ok) throw await apiError(res);
  const { models } = await res.json();
  const captioner = models.find((m) => m.task === "image-captioning");
  if (captioner !== undefined) {
    state.numExits = captioner.numExits;
    // What the bundled photo captioner knows is said on the page when it is the one loaded.
    $("model-note").hidden = captioner.id !== "photo-caption";
    $("rule").replaceChildren(
      ...captioner.rules
        .filter((r) => r !== "static" && r !== "final")
        .map((r) => new Option(r, r, r === "beem-a", r === "beem-a")),
    );
    // The slider starts at the bundle's default policy's lambda (used as is until moved).
    const lambda = captioner.defaultPolicy?.lambda;
    if (typeof lambda === "number") {
      let nearest = 0;
      LAMBDAS.forEach((l, i) => {
        if (Math.abs(l - lambda) < Math.abs(LAMBDAS[nearest] - lambda)) nearest = i;
      });
      $("lambda").value = String(nearest);
      $("lambda-value").textContent = String(LAMBDAS[nearest]);
    }
  }
  legend();
}

async function loadTradeOff() {
  const res = await fetch("sweep/caption-sweep.json");
  if (!res.ok) {
    $("tradeoff-note").textContent =
      "No sweep result is committed beside this server: run `pnpm beem caption-sweep --out docs/sweep`.";
    return;
  }
  const sweep = await res.json();
  $("tradeoff-plot").src = "sweep/caption-sweep.svg";
  const images =
    sweep.scenes !== undefined
      ? `${sweep.scenes} held-out scenes (seed ${sweep.seed})`
      : `${sweep.images} photos of the ${sweep.split} split of ${sweep.data.split("/").slice(-2).join("/")}`;
  $("tradeoff-note").textContent =
    `${images}, measured speed-up against full depth in one fused graph, median of ${sweep.repeats} passes.`;
  const columns = [
    "rule",
    "lambda",
    "ciderD",
    "meanExitLayer",
    "countedSpeedup",
    "measuredSpeedup",
  ];
  const head = document.createElement("tr");
  for (const c of columns)
    head.append(Object.assign(document.createElement("th"), { textContent: c }));
  const rows = sweep.rows.map((row) => {
    const tr = document.createElement("tr");
    for (const c of columns) {
      const v = row[c];
      tr.append(
        Object.assign(document.createElement("td"), {
          textContent: typeof v === "number" ? v.toFixed(3) : String(v),
        }),
      );
    }
    return tr;
  });
  $("tradeoff-table").replaceChildren(head, ...rows);
}

async function classify(event) {
  event.preventDefault();
  showError(undefined);
  const texts = $("texts")
    .value.split("\n")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  try {
    const res = await fetch("/v1/classify", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ texts }),
    });
    if (!res.ok) throw await apiError(res);
    const { results } = await res.json();
    $("classify-results").replaceChildren(
      ...results.map((r, i) => {
        const li = document.createElement("li");
        li.textContent = `${texts[i]} → ${r.label} (${r.confidence.toFixed(3)}), exit layer ${r.exitLayer}`;
        return li;
      }),
    );
  } catch (error) {
    showError(error);
  }
}

function showView(name) {
  for (const tab of document.querySelectorAll(".tab"))
    tab.setAttribute("aria-pressed", String(tab.dataset.view === name));
  for (const view of ["caption", "tradeoff", "classify"]) $(`view-${view}`).hidden = view !== name;
  if (name === "tradeoff") void loadTradeOff();
}

function setUp() {
  for (const tab of document.querySelectorAll(".tab"))
    tab.addEventListener("click", () => showView(tab.dataset.view));
  $("lambda").addEventListener("input", () => {
    state.touched = true;
    $("lambda-value").textContent = String(LAMBDAS[Number($("lambda").value)]);
    captionSoon();
  });
  $("rule").addEventListener("change", () => {
    state.touched = true;
    captionSoon();
  });
  $("file").addEventListener("change", () => {
    const file = $("file").files?.[0];
    if (file) useImage(file, file.name);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) useImage(file, file.name);
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      $("file").click();
    }
  });
  $("samples").replaceChildren(
    ...SAMPLES.map(([src, what], i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-label", `Sample photo ${i + 1}: ${what}`);
      button.append(Object.assign(document.createElement("img"), { src, alt: "" }));
      button.addEventListener("click", async () => {
        const res = await fetch(src);
        useImage(await res.blob(), `sample photo ${i + 1}`);
      });
      return button;
    }),
  );
  $("classify-form").addEventListener("submit", (e) => void classify(e));
  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    state.apiKey = $("api-key").value;
    sessionStorage.setItem("beem-api-key", state.apiKey);
    $("auth").hidden = true;
    showError(undefined);
    void loadModels().then(captionSoon, showError);
  });
  loadModels().catch(showError);
}

setUp();
