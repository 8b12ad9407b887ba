// Layering stays one-way (core; runtime, scenes; text, caption; bench, jobs; server, cli): no
// import of a package at the same or a higher layer, none into another package's src/, no
// cycle; and the command line stays a thin layer of small files.
import { describe, expect, it } from "vitest";
import {
  LAYERS,
  declaredDependencies,
  findCycle,
  importsOf,
  packageNames,
  sourceGraph,
  sourceLines,
  violation,
  type Import,
} from "./package-layers.js";

const names = packageNames();

describe("package layers", () => {
  it("every package has a layer", () => {
    const missing = names.filter((name) => LAYERS[name] === undefined);
    expect(missing, "add these packages to LAYERS in test/package-layers.ts").toEqual([]);
    expect(names.length).toBeGreaterThanOrEqual(9);
  });

  it("imports point down, by package name, to declared dependencies", () => {
    const problems = names.flatMap((name) => {
      const declared = declaredDependencies(name);
      return importsOf(name).flatMap((imp) => violation(imp, declared) ?? []);
    });
    expect(problems).toEqual([]);
  });

  it("no cycle among the packages' declared dependencies", () => {
    const graph = new Map(names.map((name) => [name, declaredDependencies(name)]));
    expect(findCycle(graph)).toBeUndefined();
  });

  it("no import cycle among the files of packages/cli/src", () => {
    expect(findCycle(sourceGraph("cli"))).toBeUndefined();
  });

  // Issue 28: the command line only parses, calls the libraries and prints, in 1,500 lines at most.
  const MAX_CLI_LINES = 1500;

  it(`packages/cli/src: no file over 200 lines, ${MAX_CLI_LINES} in all`, () => {
    const lines = sourceLines("cli");
    const over = [...lines].filter(([, n]) => n > 200).map(([file, n]) => `${file}: ${n}`);
    const total = [...lines.values()].reduce((a, b) => a + b, 0);
    expect(over).toEqual([]);
    expect(total, `packages/cli/src holds ${total} lines`).toBeLessThanOrEqual(MAX_CLI_LINES);
  });
});

describe("the checks themselves", () => {
  const imp = (from: string, file: string, specifier: string): Import => ({
    from,
    file,
    specifier,
  });

  it("refuse an upward, a sideways, an undeclared and a reaching import", () => {
    expect(violation(imp("core", "packages/core/src/a.ts", "@beem-ts/runtime"), [])).toMatch(
      /runtime \(layer 1\) is not below core \(layer 0\)/,
    );
    expect(
      violation(imp("text", "packages/text/src/a.ts", "@beem-ts/caption"), ["caption"]),
    ).toMatch(/not below/);
    expect(violation(imp("cli", "packages/cli/src/a.ts", "@beem-ts/bench"), [])).toMatch(
      /not in its package.json/,
    );
    expect(violation(imp("cli", "packages/cli/src/a.ts", "../../jobs/src/queue.js"), [])).toMatch(
      /reaches into jobs's src/,
    );
    expect(
      violation(imp("jobs", "packages/jobs/test/a.ts", "../../cli/test/run-beem.js"), []),
    ).toMatch(/cli's test\/ is not below jobs/);
  });

  it("accept a downward import by name, a test helper below, and the package's own files", () => {
    expect(
      violation(imp("cli", "packages/cli/src/a.ts", "@beem-ts/bench"), ["bench"]),
    ).toBeUndefined();
    expect(
      violation(imp("cli", "packages/cli/test/a.ts", "../../jobs/test/local-redis.js"), []),
    ).toBeUndefined();
    expect(violation(imp("cli", "packages/cli/src/a.ts", "./args.js"), [])).toBeUndefined();
    expect(violation(imp("cli", "packages/cli/src/a.ts", "node:fs"), [])).toBeUndefined();
  });

  it("find a cycle, and none in a tree", () => {
    const cyclic = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
    ]);
    expect(findCycle(cyclic)).toEqual(["a", "b", "c", "a"]);
    expect(
      findCycle(
        new Map([
          ["a", ["b", "c"]],
          ["b", ["c"]],
          ["c", []],
        ]),
      ),
    ).toBeUndefined();
  });
});
