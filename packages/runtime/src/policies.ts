// A bundle's policies: its default policy, and the policy for any choice a caller makes
// (a policy, a rule fitted at a lambda or with a risk bound, full depth), fitted on the bundle's
// calibration log and cached.
import {
  checkPolicyExits,
  choosePolicy,
  fullDepthPolicy,
  parsePolicy,
  type Policy,
  type PolicyChoice,
} from "@beem-ts/core";
import { join } from "node:path";
import { bundleCalibration, type BundleCalibration } from "./bundle-calibration.js";
import { readBundleJson, type BundleManifest } from "./bundle.js";

/**
 * What a task runtime's calls accept besides their task's own options: the policy choice
 * (`policy`; `rule` at `lambda`, or with `maxLoss`/`delta`; `full`) and how full depth runs.
 * Full depth runs the bundle's fused full-depth graph where it has one.
 */
export interface RuntimeOptions extends PolicyChoice {
  /**
   * Run full depth layer by layer, every exit head computed, even where the bundle has fused
   * graphs (to measure what they save). Default false.
   */
  readonly layerByLayer?: boolean;
}

export class BundlePolicies {
  readonly #calibration: BundleCalibration;

  private constructor(
    readonly numExits: number,
    /** The bundle's policy file, or full depth when it names none. */
    readonly defaultPolicy: Policy,
    calibration: BundleCalibration,
  ) {
    this.#calibration = calibration;
  }

  /** Reads the manifest's policy file (checked against its exits); the log is read on first fit. */
  static async load(dir: string, manifest: BundleManifest): Promise<BundlePolicies> {
    const policy =
      manifest.policy === undefined
        ? fullDepthPolicy(manifest.numExits)
        : parsePolicy(await readBundleJson(dir, manifest.policy, "policy"), {
            source: join(dir, manifest.policy),
          });
    checkPolicyExits(policy, manifest.numExits);
    const calibration = bundleCalibration({
      dir,
      calibrationLog: manifest.calibrationLog,
      costs: manifest.costs,
    });
    return new BundlePolicies(manifest.numExits, policy, calibration);
  }

  /** The policy for a caller's choice (default: the bundle's policy). */
  policyFor(choice: PolicyChoice = {}): Promise<Policy> {
    return choosePolicy(choice, {
      numExits: this.numExits,
      defaultPolicy: this.defaultPolicy,
      fit: (rule, lambda) => this.#calibration.fit(rule, lambda),
      fitRisk: (rule, risk) => this.#calibration.fitRisk(rule, risk),
    });
  }
}
