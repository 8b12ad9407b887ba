// Load benchmark of the real server process (`src/main.ts`, loopback only) with autocannon:
// requests/s and p50/p99 latency at 1, 8 and 32 concurrent clients for caption and classify,
// early exit against full depth, alternated round by round (medians of `--rounds`); a 32-client
// soak; resident memory before and after 10,000 requests. Caption requests cycle through 64
// held-out scenes (seed 1000), since identical images would all exit at the same layers.
// Usage: pnpm --filter @beem-ts/server bench [--seconds 10] [--rounds 3] [--soak-seconds 60]
// [--requests 10000] [--out results.json]
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { generateScenes, renderScene } from "@beem-ts/scenes";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    "soak-seconds": { type: "string", default: "60" },
    requests: { type: "string", default: "10000" },
    out: { type: "string" },
  },
});
function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`Expected --${name} to be an integer >= 1 but received ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return n;
}
const seconds = positiveInteger("seconds", values.seconds);
const rounds = positiveInteger("rounds", values.rounds);
const soakSeconds = positiveInteger("soak-seconds", values["soak-seconds"]);
const memoryRequests = positiveInteger("requests", values.requests);
const ROOT = resolve(import.meta.dirname, "../../..");
const scenes = await Promise.all(generateScenes(1000, 64).map((s) => renderScene(s)));
// Sentences written for this benchmark, short and long, clear and mixed.
const texts = [
  "a warm, funny and beautifully acted film",
  "the plot goes nowhere and the jokes fall flat",
  "one of the most moving stories i have seen in years",
  "dull, overlong and strangely joyless",
  "the cast is wonderful even when the script is not",
  "i wanted to like it, but it never finds its footing",
  "a clever premise wasted on lazy writing and tired clichés",
  "sharp dialogue, gorgeous photography and a score that lingers long after the credits",
  "not bad, not great, just there",
  "an unexpected delight from start to finish",
  "the second half drags badly, though the opening is promising",
  "a messy, noisy film with a surprisingly tender heart",
];

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(
  process.execPath,
  ["--import", "tsx", resolve(ROOT, "packages/server/src/main.ts")],
  {
    env: { ...process.env, PORT: String(port), BEEM_MAX_QUEUE: "256" },
    stdio: ["ignore", "ignore", "inherit"],
  },
);
for (let i = 0; ; i++) {
  const ok = await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (i > 300) throw new Error("The server did not become ready in 30 s");
  await new Promise((r) => setTimeout(r, 100));
}

interface Run {
  route: string;
  mode: string;
  clients: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors5xx: number;
}

function requestFor(route: string, full: boolean): autocannon.Options {
  let k = 0;
  if (route === "caption") {
    return {
      url: `${base}/v1/caption${full ? "?full=true" : ""}`,
      method: "POST",
      headers: { "content-type": "image/png" },
      requests: [
        { setupRequest: (req) => ({ ...req, body: scenes[k++ % scenes.length] as Buffer }) },
      ],
    };
  }
  return {
    url: `${base}/v1/classify`,
    method: "POST",
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ texts: [texts[k++ % texts.length]], ...(full && { full: true }) }),
        }),
      },
    ],
  };
}

async function load(route: string, full: boolean, clients: number, duration: number): Promise<Run> {
  const r = await autocannon({ ...requestFor(route, full), connections: clients, duration });
  return {
    route,
    mode: full ? "full" : "early exit",
    clients,
    requestsPerSecond: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors5xx: r["5xx"],
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? s[(s.length - 1) / 2]!
    : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// Full depth and early exit alternate round by round (which goes first alternates too), so that
// the machine's drift hits both alike; each figure is the median over the rounds.
const runs: Run[] = [];
for (const route of ["caption", "classify"]) {
  for (const clients of [1, 8, 32]) {
    const byMode = new Map<boolean, Run[]>([
      [true, []],
      [false, []],
    ]);
    for (let round = 0; round < rounds; round++) {
      for (const full of round % 2 === 0 ? [true, false] : [false, true]) {
        const run = await load(route, full, clients, seconds);
        byMode.get(full)!.push(run);
        process.stderr.write(`round ${round + 1}: ${JSON.stringify(run)}\n`);
      }
    }
    for (const [, all] of byMode) {
      runs.push({
        ...all[0]!,
        requestsPerSecond: median(all.map((r) => r.requestsPerSecond)),
        p50: median(all.map((r) => r.p50)),
        p99: median(all.map((r) => r.p99)),
        non2xx: all.reduce((n, r) => n + r.non2xx, 0),
        errors5xx: all.reduce((n, r) => n + r.errors5xx, 0),
      });
    }
  }
}
const soak = await load("caption", false, 32, soakSeconds);
process.stderr.write(`soak ${JSON.stringify(soak)}\n`);

const before = rssMb(server.pid!);
const memoryRun = await autocannon({
  ...requestFor("classify", false),
  connections: 8,
  amount: memoryRequests / 2,
});
const captionRun = await autocannon({
  ...requestFor("caption", false),
  connections: 8,
  amount: memoryRequests / 2,
});
const after = rssMb(server.pid!);
const stillUp = await fetch(`${base}/healthz`).then(
  (r) => r.ok,
  () => false,
);
server.kill("SIGTERM");
const exitCode = await new Promise<number | null>((done) => server.on("exit", done));

const table = [
  "| route | mode | clients | requests/s | p50 ms | p99 ms | non-2xx | 5xx |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ...[...runs, { ...soak, mode: `early exit, ${soakSeconds} s soak` }].map(
    (r) =>
      `| ${r.route} | ${r.mode} | ${r.clients} | ${r.requestsPerSecond.toFixed(1)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors5xx} |`,
  ),
].join("\n");
const ratios = ["caption", "classify"].flatMap((route) =>
  [1, 8, 32].map((clients) => {
    const pick = (mode: string) =>
      runs.find((r) => r.route === route && r.clients === clients && r.mode === mode)!;
    return `${route} ${clients} clients: ${(pick("early exit").requestsPerSecond / pick("full").requestsPerSecond).toFixed(2)}x`;
  }),
);
const memory = {
  requests: memoryRun.requests.sent + captionRun.requests.sent,
  non2xx: memoryRun.non2xx + captionRun.non2xx,
  rssBeforeMb: before,
  rssAfterMb: after,
  growthMb: after - before,
};
console.log(table);
console.log(
  `\nearly-exit throughput over full depth (medians of ${rounds} rounds): ${ratios.join("; ")}`,
);
console.log(
  `\nresident memory: ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after ${memory.requests} more requests (${memory.non2xx} non-2xx); growth ${memory.growthMb.toFixed(1)} MB`,
);
console.log(`server still up after the runs: ${stillUp}; exit code on SIGTERM: ${exitCode}`);
if (values.out !== undefined)
  writeFileSync(
    values.out,
    JSON.stringify({ runs, soak, memory, stillUp, exitCode }, null, 2) + "\n",
  );
