// Fitting rules on a bundle's calibration log: the log is read and parsed once, on first use,
// and each rule's calibrator is kept for later lambdas.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BeemError,
  createCalibrator,
  foldFixedCost,
  parseExitLog,
  type CalibrationRule,
  type ExitTable,
  type Policy,
} from "@beem-ts/core";

export interface BundleCalibrationSource {
  /** The bundle folder. */
  readonly dir: string;
  /** The exit log file, relative to the bundle; absent when the bundle has none. */
  readonly calibrationLog?: string | undefined;
  /** Measured per-exit costs, with the fixed cost paid before exit 1. */
  readonly costs?: { readonly fixed: number; readonly exits: readonly number[] } | undefined;
}

/** Returns `fit(rule, lambda)` over the bundle's calibration log. */
export function bundleCalibration(
  source: BundleCalibrationSource,
): (rule: CalibrationRule, lambda: number) => Promise<Policy> {
  let table: Promise<ExitTable> | undefined;
  const calibrators = new Map<CalibrationRule, ReturnType<typeof createCalibrator>>();
  const costs = source.costs ? foldFixedCost(source.costs.exits, source.costs.fixed) : undefined;

  const readTable = async (rule: CalibrationRule): Promise<ExitTable> => {
    if (source.calibrationLog === undefined) {
      throw new BeemError(
        "INVALID_BUNDLE",
        `${source.dir}: the bundle has no calibration log to fit "${rule}" on`,
      );
    }
    const path = join(source.dir, source.calibrationLog);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (cause) {
      throw new BeemError(
        "INVALID_BUNDLE",
        `${path}: cannot read the calibration log (${(cause as Error).message})`,
        {
          cause,
        },
      );
    }
    return parseExitLog(text, { source: path });
  };

  return async (rule, lambda) => {
    let calibrator = calibrators.get(rule);
    if (calibrator === undefined) {
      table ??= readTable(rule);
      let loaded: ExitTable;
      try {
        loaded = await table;
      } catch (error) {
        table = undefined; // a later call may succeed (e.g. the file was being written)
        throw error;
      }
      calibrator = createCalibrator(loaded, { rule, ...(costs && { costs }) });
      calibrators.set(rule, calibrator);
    }
    return calibrator.fit(lambda);
  };
}
