// Fitting rules on a bundle's calibration log: the log is read and parsed once, on first use,
// each rule's calibrator is kept for later lambdas, and risk-controlled fits are cached too.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BeemError,
  calibrateRisk,
  createCalibrator,
  foldFixedCost,
  parseExitLog,
  type CalibrationRule,
  type ExitTable,
  type Policy,
  type RiskChoice,
} from "@beem-ts/core";

export interface BundleCalibrationSource {
  /** The bundle folder. */
  readonly dir: string;
  /** The exit log file, relative to the bundle; absent when the bundle has none. */
  readonly calibrationLog?: string | undefined;
  /** Measured per-exit costs, with the fixed cost paid before exit 1. */
  readonly costs?: { readonly fixed: number; readonly exits: readonly number[] } | undefined;
}

/** A bundle's fitting: `fit(rule, lambda)` and `fitRisk(rule, { maxLoss, delta })`. */
export interface BundleCalibration {
  fit(rule: CalibrationRule, lambda: number): Promise<Policy>;
  fitRisk(rule: CalibrationRule, risk: RiskChoice): Promise<Policy>;
}

/**
 * Fitting over the bundle's calibration log. A risk-controlled fit that falls back to full depth
 * (a log too small to certify any policy) emits a process warning saying why, once per choice.
 */
export function bundleCalibration(source: BundleCalibrationSource): BundleCalibration {
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

  const loadTable = async (rule: CalibrationRule): Promise<ExitTable> => {
    table ??= readTable(rule);
    try {
      return await table;
    } catch (error) {
      table = undefined; // a later call may succeed (e.g. the file was being written)
      throw error;
    }
  };
  const risky = new Map<string, Policy>();

  return {
    async fit(rule, lambda) {
      let calibrator = calibrators.get(rule);
      if (calibrator === undefined) {
        calibrator = createCalibrator(await loadTable(rule), { rule, ...(costs && { costs }) });
        calibrators.set(rule, calibrator);
      }
      return calibrator.fit(lambda);
    },
    async fitRisk(rule, risk) {
      const key = JSON.stringify([rule, risk.maxLoss, risk.delta]);
      const cached = risky.get(key);
      if (cached !== undefined) return cached;
      const result = calibrateRisk(await loadTable(rule), {
        rule,
        maxLoss: risk.maxLoss,
        ...(risk.delta !== undefined && { delta: risk.delta }),
        ...(costs && { costs }),
      });
      if (result.warning !== undefined)
        process.emitWarning(`${source.dir}: ${result.warning}`, { code: "BEEM_RISK_FALLBACK" });
      risky.set(key, result.policy);
      return result.policy;
    },
  };
}
