// evaluateCaptions' figures as text for people: a table of the three ways and a few lines.
import type { CaptionEvalReport } from "./caption-eval.js";
import { textTable } from "./tables.js";

/** The report as an aligned table and summary lines (`numExits`: the captioner's layers). */
export function captionEvalSummary(report: CaptionEvalReport, numExits: number): string {
  const L = numExits;
  return (
    textTable(
      ["", "CIDEr-D", "BLEU-4", "ROUGE-L", "ms (median)"],
      [
        [
          `full depth (${report.fullDepth})`,
          report.ciderFull,
          report.bleu4Full,
          report.rougeLFull,
          report.fullMs,
        ],
        ["full depth, layer by layer", "", "", "", report.layerByLayerMs],
        ["early exit", report.cider, report.bleu4, report.rougeL, report.earlyMs],
      ],
    ) +
    `mean exit layer ${report.meanExitLayer.toFixed(2)} of ${L}; counted speed-up ${report.countedSpeedup.toFixed(2)}x, ` +
    `measured ${report.measuredSpeedup.toFixed(2)}x against ${report.fullDepth} full depth ` +
    `(decoder alone ${report.decoderSpeedup.toFixed(2)}x; ${report.layerByLayerSpeedup.toFixed(2)}x against layer-by-layer full depth)` +
    (report.transformersJsMs !== undefined
      ? `; transformers.js ${report.transformersJsMs.toFixed(0)} ms (${report.transformersJsSpeedup!.toFixed(2)}x early exit's time, ${report.transformersJsOverFull!.toFixed(2)}x fused full depth's)`
      : "") +
    "\n" +
    (report.batch
      ? `batches of ${report.batch.size}: ${report.batch.ms.toFixed(0)} ms against ${report.batch.oneAtATimeMs.toFixed(0)} ms one at a time (${report.batch.speedup.toFixed(2)}x), same captions: ${report.batch.sameCaptions}\n`
      : "") +
    (report.nearestNeighbour
      ? `nearest neighbour (k ${report.nearestNeighbour.k}, chosen on ${report.nearestNeighbour.kChosenOn}): CIDEr-D ${report.nearestNeighbour.ciderD.toFixed(3)}, BLEU-4 ${report.nearestNeighbour.bleu4.toFixed(3)}; ` +
        `against ${report.leaveOneOut!.rotations - 1} references (leave-one-out): humans CIDEr-D ${report.leaveOneOut!.human.ciderD.toFixed(3)}, BLEU-4 ${report.leaveOneOut!.human.bleu4.toFixed(3)}; ` +
        `full depth ${report.leaveOneOut!.full.ciderD.toFixed(3)}, ${report.leaveOneOut!.full.bleu4.toFixed(3)}; early exit ${report.leaveOneOut!.early.ciderD.toFixed(3)}, ${report.leaveOneOut!.early.bleu4.toFixed(3)}\n` +
        `ended with the end token: ${report.degeneracy!.full.ended}/${report.degeneracy!.full.captions} at full depth, ${report.degeneracy!.early.ended}/${report.degeneracy!.early.captions} early; ` +
        `a word three times in a row: ${report.degeneracy!.full.repeatedWord} and ${report.degeneracy!.early.repeatedWord}\n`
      : "") +
    (report.beams
      ? `${report.beams.width} beams: CIDEr-D ${report.beams.ciderFull.toFixed(3)} at full depth, ${report.beams.cider.toFixed(3)} early (greedy ${report.beams.greedyCiderFull.toFixed(3)}, ${report.beams.greedyCider.toFixed(3)}), ` +
        `${report.beams.timeOverGreedyFull.toFixed(2)}x and ${report.beams.timeOverGreedy.toFixed(2)}x greedy's time\n`
      : "")
  );
}
