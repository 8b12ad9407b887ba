// Where the bundled models are, and the options that choose a policy.
import { readPolicy } from "@beem-ts/runtime";
import { resolve } from "node:path";
import { CALIBRATION_RULES, unalias, type PolicyChoice } from "@beem-ts/core";
import { options, type OptionValues, numberOption, oneOf, openUnitOption } from "./args.js";
import { UsageError } from "./cli-error.js";

/** The repository (the training scripts some commands run live there). */
export const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** The bundled SST-2 model, or $BEEM_TEXT_MODEL. */
export function defaultTextModel(): string {
  return process.env.BEEM_TEXT_MODEL ?? resolve(REPO_ROOT, "models/sst2-beem");
}

/** The bundled photo captioner, or $BEEM_CAPTION_MODEL. */
export function defaultCaptionModel(): string {
  return process.env.BEEM_CAPTION_MODEL ?? resolve(REPO_ROOT, "models/photo-caption");
}

/**
 * The caption bundle of caption-eval and caption-sweep without --model: the emoji-scene
 * captioner for synthetic scenes (--scenes; the only model that knows them), else the default.
 */
export function evalCaptionModel(scenes: string | undefined): string {
  return scenes !== undefined ? resolve(REPO_ROOT, "models/caption-beem") : defaultCaptionModel();
}

export const POLICY_OPTIONS = options("rule lambda policy max-loss delta", "full");

export const POLICY_USAGE = `  --rule RULE     ${CALIBRATION_RULES.join(", ")} (calibrated on the bundle's calibration log;
                  beem = beem-a)
  --lambda X      cost parameter for --rule (default 0; alone: BEEM-A at X)
  --max-loss E    instead of --lambda: the fastest --rule policy (default BEEM-A) whose
                  disagreement with full depth is at most E with probability 1 - delta
  --delta D       with --max-loss: the probability the bound fails (default 0.1)
  --policy FILE   a policy file instead
  --full          no early exit: run every layer
  (default: the bundle's own policy)`;

export async function policyChoice(
  values: OptionValues<typeof POLICY_OPTIONS>,
): Promise<PolicyChoice> {
  const fitting =
    values.rule !== undefined ||
    values.lambda !== undefined ||
    values["max-loss"] !== undefined ||
    values.delta !== undefined;
  if (values.policy !== undefined && fitting) {
    throw new UsageError("Give either --policy or --rule/--lambda/--max-loss, not both");
  }
  if (values.lambda !== undefined && values["max-loss"] !== undefined)
    throw new UsageError("Give either --lambda or --max-loss, not both");
  if (values.delta !== undefined && values["max-loss"] === undefined)
    throw new UsageError("--delta goes with --max-loss");
  if (values.full === true) return { full: true };
  if (values.policy !== undefined) return { policy: await readPolicy(values.policy) };
  return {
    ...(values.rule !== undefined && {
      rule: oneOf(unalias(values.rule), "--rule", CALIBRATION_RULES),
    }),
    ...(values.lambda !== undefined && { lambda: numberOption(values.lambda, "--lambda", 0, 0) }),
    ...(values["max-loss"] !== undefined && {
      maxLoss: openUnitOption(values["max-loss"], "--max-loss")!,
    }),
    ...(values.delta !== undefined && { delta: openUnitOption(values.delta, "--delta")! }),
  };
}
