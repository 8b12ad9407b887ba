// Writes the object boxes of scenes (in the cached images' pixels) for encoder pre-training:
// one line per scene, {"id", "objects": [[catalog index, x0, y0, x1, y1], ...]}.
// Usage: tsx dump-layouts.ts --count N --seed S --out FILE [--size 96]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CATALOG, sceneLayout } from "@beem-ts/scenes";

const { values } = parseArgs({
  options: {
    count: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    size: { type: "string", default: "96" },
  },
});
if (values.count === undefined || values.seed === undefined || values.out === undefined) {
  throw new Error("Usage: dump-layouts.ts --count N --seed S --out FILE [--size 96]");
}
const size = Number(values.size);
const index = new Map(CATALOG.map(([name], i) => [name, i]));
const lines: string[] = [];
for (let i = 0; i < Number(values.count); i++) {
  const s = sceneLayout(Number(values.seed), i);
  const sx = size / s.width;
  const sy = size / s.height;
  lines.push(
    JSON.stringify({
      id: s.id,
      objects: s.objects.map((o) => [
        index.get(o.name),
        o.x * sx,
        o.y * sy,
        (o.x + o.size) * sx,
        (o.y + o.size) * sy,
      ]),
    }),
  );
}
writeFileSync(values.out, lines.join("\n") + "\n");
console.log(`${lines.length} layouts -> ${values.out} (${CATALOG.length} classes)`);
