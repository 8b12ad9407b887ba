// Float32 tensor plumbing for batched decoding: rows are stacked along the batch dimension to
// run one layer for several sequences at once, and split again afterwards.
import { ort } from "@beem-ts/runtime";

/** Stacks [1, ...] tensors of equal shape into one [n, ...] tensor (no copy for one row). */
export function stackRows(rows: readonly ort.Tensor[]): ort.Tensor {
  if (rows.length === 1) return rows[0]!;
  const first = rows[0]!;
  const size = first.size;
  const out = new Float32Array(size * rows.length);
  rows.forEach((r, i) => {
    if (r.size !== size) throw new RangeError(`Row ${i} has ${r.size} values, expected ${size}`);
    out.set(r.data as Float32Array, i * size);
  });
  return new ort.Tensor("float32", out, [rows.length, ...first.dims.slice(1)]);
}

/** Splits an [n, ...] tensor into n tensors of shape [1, ...] (no copy for one row). */
export function splitRows(batch: ort.Tensor): ort.Tensor[] {
  const n = batch.dims[0]!;
  if (n === 1) return [batch];
  const size = batch.size / n;
  const data = batch.data as Float32Array;
  const dims = [1, ...batch.dims.slice(1)];
  return Array.from(
    { length: n },
    (_, i) => new ort.Tensor("float32", data.slice(i * size, (i + 1) * size), dims),
  );
}

/** The given rows of an [n, ...] tensor, in that order (no copy when all rows stay). */
export function takeRows(batch: ort.Tensor, rows: readonly number[]): ort.Tensor {
  const n = batch.dims[0]!;
  if (rows.length === n && rows.every((r, i) => r === i)) return batch;
  const size = batch.size / n;
  const data = batch.data as Float32Array;
  const out = new Float32Array(size * rows.length);
  rows.forEach((r, i) => out.set(data.subarray(r * size, (r + 1) * size), i * size));
  return new ort.Tensor("float32", out, [rows.length, ...batch.dims.slice(1)]);
}

/** Positions `at` (in that order) of a [1, H, T, Dh] tensor (no copy when all stay). */
export function selectPositions(t: ort.Tensor, at: readonly number[]): ort.Tensor {
  const [, heads, positions, dh] = t.dims as [number, number, number, number];
  if (at.length === positions && at.every((p, i) => p === i)) return t;
  const x = t.data as Float32Array;
  const out = new Float32Array(heads * at.length * dh);
  for (let h = 0; h < heads; h++)
    at.forEach((p, i) =>
      out.set(
        x.subarray((h * positions + p) * dh, (h * positions + p + 1) * dh),
        (h * at.length + i) * dh,
      ),
    );
  return new ort.Tensor("float32", out, [1, heads, at.length, dh]);
}

/** [1, H, Ta, Dh] + [1, H, Tb, Dh] -> [1, H, Ta + Tb, Dh]: positions appended per head. */
export function concatPositions(a: ort.Tensor, b: ort.Tensor): ort.Tensor {
  const [, heads, ta, dh] = a.dims as [number, number, number, number];
  const tb = b.dims[2]!;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  const out = new Float32Array(heads * (ta + tb) * dh);
  for (let h = 0; h < heads; h++) {
    out.set(x.subarray(h * ta * dh, (h + 1) * ta * dh), h * (ta + tb) * dh);
    out.set(y.subarray(h * tb * dh, (h + 1) * tb * dh), h * (ta + tb) * dh + ta * dh);
  }
  return new ort.Tensor("float32", out, [1, heads, ta + tb, dh]);
}

/** [1, H, T_i, Dh] tensors -> [1, H, sum T_i, Dh]: positions in the given order, per head. */
export function joinPositions(parts: readonly ort.Tensor[]): ort.Tensor {
  if (parts.length === 1) return parts[0]!;
  const [, heads, , dh] = parts[0]!.dims as [number, number, number, number];
  const total = parts.reduce((n, t) => n + t.dims[2]!, 0);
  const out = new Float32Array(heads * total * dh);
  for (let h = 0; h < heads; h++) {
    let at = h * total * dh;
    for (const t of parts) {
      const n = t.dims[2]! * dh;
      out.set((t.data as Float32Array).subarray(h * n, (h + 1) * n), at);
      at += n;
    }
  }
  return new ort.Tensor("float32", out, [1, heads, total, dh]);
}
