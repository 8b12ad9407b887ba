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
// Okabe-Ito's qualitative palette (made to stay distinct for colour-blind readers), ordered so
// that neighbouring layers differ in hue and lightness; deeper models reuse it, the layer number
// beside each word telling them apart.
const LAYER_COLOURS = [
  "#0072b2",
  "#e69f00",
  "#009e73",
  "#cc79a7",
  "#f0e442",
  "#d55e00",
  "#56b4e9",
  "#000000",
];
// What each rule does and when to use it (the rule select shows the chosen one's).
const RULE_HELP = {
  "beem-a":
    "BEEM-A: while neighbouring exits agree, their confidences, weighted by each exit's accuracy, add up; a word stops when the sum passes that layer's fitted threshold. The default: the most speed for the quality kept.",
  "beem-c":
    "BEEM-C: BEEM-A with each exit weighted by its cost instead of its accuracy. Try it when early layers cost much less than late ones.",
  maxprob:
    "Max probability: a word stops at the first exit whose top probability passes its threshold. A simple baseline: one exit's confidence, no agreement between exits.",
  entropy:
    "Entropy: a word stops at the first exit whose prediction's entropy drops below its threshold (as in DeeBERT). A baseline that reads the whole distribution, not just its top.",
  patience:
    "Patience: a word stops once its prediction has stayed the same for several exits in a row (as in PABEE). A baseline that ignores confidence; it always runs a few layers.",
};
// What went wrong, for a person; the API's own message is kept under "Details".
const MEANING = {
  400: "The server could not read what the page sent. Try again, or another image.",
  401: "This server needs an API key: enter it above.",
  413: "That image is too large for this server. Try a smaller photo.",
  415: "That file is not an image this page can caption. Choose a photo (JPEG, PNG, WebP or GIF).",
  422: "The server refused these settings.",
  429: "The server is busy. Try again in a moment.",
  503: "The server is not ready yet (its models are still loading). Try again in a moment.",
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

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Colour of exit layer `layer` (1-based), and the text colour (black or white) most legible on it. */
function layerColour(layer) {
  const background = LAYER_COLOURS[(layer - 1) % LAYER_COLOURS.length];
  const l = luminance(background);
  return { background, color: (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000" : "#fff" };
}

function headers(extra = {}) {
  return state.apiKey ? { ...extra, Authorization: `Bearer ${state.apiKey}` } : extra;
}

/** An Error saying what went wrong for a person, with the API's message as `details`. */
async function apiError(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.status === 401) $("auth").hidden = false;
  const error = new Error(
    MEANING[res.status] ?? `The server answered with an error (${res.status}).`,
  );
  error.details = body?.error?.message ?? res.statusText;
  return error;
}

function showError(error) {
  const box = $("error");
  if (error === undefined) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const message = document.createElement("span");
  message.className = "message";
  message.textContent = error instanceof Error ? error.message : String(error);
  box.replaceChildren(message);
  if (error?.details !== undefined) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Details";
    const text = document.createElement("code");
    text.textContent = error.details;
    details.append(summary, text);
    box.append(details);
  }
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
  const { background, color } = layerColour(token.exitLayer);
  el.className = token.end === true ? "word end" : "word";
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

/** The end token as a chip: it costs layers like a word, and counts in the mean exit layer. */
function endElement(exitLayer) {
  const el = wordElement({ text: "end", exitLayer, end: true });
  el.title = "The end token: it costs layers too, and counts in the mean exit layer";
  el.setAttribute("aria-label", `end of caption, layer ${exitLayer}`);
  return el;
}

function stats(done) {
  return `mean exit layer ${done.meanExitLayer.toFixed(2)} of ${state.numExits} · ${done.timings.totalMs.toFixed(1)} ms on the server`;
}

/**
 * The two times side by side: both are the `done` event's `timings.totalMs` (image decoding,
 * encoder and decoding loop) of the same kind of request, run one after the other.
 */
function speedUp(early, full) {
  const measured = full.timings.totalMs / early.timings.totalMs;
  const counted = state.numExits / early.meanExitLayer;
  const el = $("speedup");
  el.dataset.measured = String(measured);
  el.dataset.counted = String(counted);
  el.textContent =
    `Speed-up: ${measured.toFixed(2)}x measured (full depth ${full.timings.totalMs.toFixed(1)} ms ÷ early exit ${early.timings.totalMs.toFixed(1)} ms, ` +
    `each decoding the image, then running the encoder and the words), ${counted.toFixed(2)}x counted (${state.numExits} layers ÷ mean exit layer ${early.meanExitLayer.toFixed(2)}).`;
}

/**
 * Streams a caption into the box `id`: words appear as they are decided, then the end token.
 * Early exit and full depth both come this way, so that their times are measured alike.
 */
async function streamCaption(blob, params, run, id) {
  const res = await fetch(`/v1/caption?${params}`, {
    method: "POST",
    headers: headers({
      "Content-Type": blob.type || "application/octet-stream",
      Accept: "text/event-stream",
    }),
    body: blob,
  });
  if (!res.ok) throw await apiError(res);
  const caption = $(id);
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
      else if (event === "done") {
        done = data;
        if (data.endExitLayer !== null) caption.append(endElement(data.endExitLayer));
      } else if (event === "error")
        throw Object.assign(new Error("The caption failed part-way. Try again."), {
          details: data?.error?.message,
        });
    }
  }
  return done;
}

/** Captions the current image at the chosen setting and at full depth, one after the other. */
async function caption() {
  if (state.image === undefined) return;
  const run = ++state.run;
  showError(undefined);
  for (const id of ["early-caption", "full-caption", "early-stats", "full-stats", "speedup"])
    $(id).replaceChildren();
  $("early-stats").textContent = "captioning…";
  try {
    const early = await streamCaption(state.image, policyParams(), run, "early-caption");
    if (run !== state.run || early === undefined) return;
    $("early-stats").textContent = stats(early);
    $("full-stats").textContent = "captioning…";
    const full = await streamCaption(
      state.image,
      new URLSearchParams({ full: "true" }),
      run,
      "full-caption",
    );
    if (run !== state.run || full === undefined) return;
    $("full-stats").textContent = stats(full);
    speedUp(early, full);
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

function showRuleHelp() {
  $("rule-help").textContent = RULE_HELP[$("rule").value] ?? "";
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
    showRuleHelp();
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
    showRuleHelp();
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
