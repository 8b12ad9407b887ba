// The packages' layers and the imports between them, read from the source: what
// layering.test.ts checks. A package imports only packages of lower layers, by name and
// declared in its package.json; nothing reaches into another package's src/.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
const PACKAGES = join(ROOT, "packages");

/** Each package's layer: imports point to a lower number only. */
export const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  runtime: 1,
  text: 2,
  caption: 2,
  scenes: 1,
  bench: 3,
  jobs: 3,
  server: 4,
  cli: 4,
};

/** The folders whose files are checked. */
const FOLDERS = ["src", "test", "bench"] as const;

export interface Import {
  /** File, relative to the repository. */
  readonly file: string;
  readonly from: string;
  readonly specifier: string;
}

export function packageNames(): string[] {
  return readdirSync(PACKAGES).filter((name) =>
    statSync(join(PACKAGES, name, "package.json"), { throwIfNoEntry: false })?.isFile(),
  );
}

export function declaredDependencies(name: string): string[] {
  const pkg = JSON.parse(readFileSync(join(PACKAGES, name, "package.json"), "utf8"));
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
    .filter((d) => d.startsWith("@beem-ts/"))
    .map((d) => d.slice("@beem-ts/".length));
}

function tsFiles(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : tsFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Module specifiers of a source text: static imports, re-exports and dynamic imports. */
export function specifiersOf(source: string): string[] {
  const pattern = /(?:\bfrom\s+|\bimport\s+|\bimport\s*\(\s*)["']([^"']+)["']/g;
  return [...source.matchAll(pattern)].map((m) => m[1]!);
}

/** Every import in the checked folders of package `name`. */
export function importsOf(name: string): Import[] {
  return FOLDERS.flatMap((folder) => tsFiles(join(PACKAGES, name, folder))).flatMap((path) =>
    specifiersOf(readFileSync(path, "utf8")).map((specifier) => ({
      file: relative(ROOT, path),
      from: name,
      specifier,
    })),
  );
}

/** Where a relative import lands: the package and its folder, or undefined outside packages/. */
export function landing(imp: Import): { pkg: string; folder: string } | undefined {
  if (!imp.specifier.startsWith(".")) return undefined;
  const target = relative(PACKAGES, resolve(ROOT, dirname(imp.file), imp.specifier));
  if (target.startsWith("..")) return undefined;
  const [pkg, folder = ""] = target.split(sep);
  return { pkg: pkg!, folder };
}

/** What is wrong with one import, or undefined. */
export function violation(imp: Import, declared: readonly string[]): string | undefined {
  const at = `${imp.file} imports ${imp.specifier}`;
  const layer = LAYERS[imp.from]!;
  if (imp.specifier.startsWith("@beem-ts/")) {
    const to = imp.specifier.slice("@beem-ts/".length).split("/")[0]!;
    if (to === imp.from)
      return imp.file.includes(`${sep}src${sep}`)
        ? `${at}: src/ imports its own package by name`
        : undefined;
    if (LAYERS[to] === undefined) return `${at}: unknown package ${to}`;
    if (LAYERS[to] >= layer)
      return `${at}: ${to} (layer ${LAYERS[to]}) is not below ${imp.from} (layer ${layer})`;
    if (!declared.includes(to)) return `${at}: @beem-ts/${to} is not in its package.json`;
    return undefined;
  }
  const land = landing(imp);
  if (land === undefined || land.pkg === imp.from) return undefined;
  if (land.folder === "src")
    return `${at}: reaches into ${land.pkg}'s src/ (import @beem-ts/${land.pkg})`;
  const to = LAYERS[land.pkg];
  if (to === undefined || to >= layer)
    return `${at}: ${land.pkg}'s ${land.folder}/ is not below ${imp.from}`;
  return undefined;
}

/** A cycle in a directed graph, as its nodes in order, or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The import graph of one package's src/ files (relative imports only), keyed by path. */
export function sourceGraph(name: string): Map<string, string[]> {
  const src = join(PACKAGES, name, "src");
  return new Map(
    tsFiles(src).map((path) => [
      relative(ROOT, path),
      specifiersOf(readFileSync(path, "utf8"))
        .filter((s) => s.startsWith("."))
        .map((s) => relative(ROOT, resolve(dirname(path), s.replace(/\.js$/, ".ts")))),
    ]),
  );
}

/** Line counts of a package's src/ files, keyed by path. */
export function sourceLines(name: string): Map<string, number> {
  return new Map(
    tsFiles(join(PACKAGES, name, "src")).map((path) => [
      relative(ROOT, path),
      readFileSync(path, "utf8").split("\n").length - 1,
    ]),
  );
}
