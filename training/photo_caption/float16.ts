// Feature maps to the float16 cache the Python recipe reads (numpy's float16, little-endian).

const view = new DataView(new ArrayBuffer(4));

/** IEEE half precision bits of `x`, rounded to nearest even. */
export function float16Bits(x: number): number {
  view.setFloat32(0, x);
  const f = view.getUint32(0);
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  let mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf, NaN
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow: infinity
  if (e <= 0) {
    if (e < -10) return sign; // underflow: zero
    mantissa |= 0x800000; // subnormal: shift in the implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let m = mantissa >>> 13;
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1) === 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** A [B, C, H, W] map as [B, H*W, C] float16 bytes (one row per grid cell). */
export function cellMajorFloat16(data: Float32Array, dims: readonly number[]): Buffer {
  const [b, c, h, w] = dims as [number, number, number, number];
  const cells = h * w;
  const out = Buffer.alloc(b * cells * c * 2);
  let k = 0;
  for (let n = 0; n < b; n++)
    for (let cell = 0; cell < cells; cell++)
      for (let ch = 0; ch < c; ch++) {
        out.writeUInt16LE(float16Bits(data[(n * c + ch) * cells + cell]!), k);
        k += 2;
      }
  return out;
}
