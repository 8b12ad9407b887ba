// GPT-2's byte-level alphabet: every byte is written as one printable character in a byte-level
// BPE vocabulary ("Ġ" for a space), as OpenAI's encoder.py and Hugging Face's ByteLevel decoder
// map them (bytes_to_unicode): the printable Latin-1 bytes stand for themselves, the others
// (controls, space, soft hyphen...) for U+0100, U+0101, ... in byte order.

function byteTable(): Map<string, number> {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table.set(String.fromCodePoint(printable(b) ? b : 256 + extra++), b);
  }
  return table;
}

const CHAR_TO_BYTE = byteTable();

/**
 * The bytes a byte-level BPE token stands for ("Ġcat" -> 0x20 0x63 0x61 0x74), or undefined
 * when one of its characters is outside the byte alphabet (an added token such as
 * "<|endoftext|>" is written in plain text).
 */
export function tokenBytes(token: string): number[] | undefined {
  const bytes: number[] = [];
  for (const c of token) {
    const b = CHAR_TO_BYTE.get(c);
    if (b === undefined) return undefined;
    bytes.push(b);
  }
  return bytes;
}
