// Named background colours: the names appear in the captions.
export const COLORS: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [214, 48, 49],
  orange: [243, 142, 40],
  yellow: [246, 214, 66],
  green: [62, 160, 80],
  blue: [52, 108, 214],
  purple: [132, 72, 178],
  pink: [240, 146, 190],
  white: [245, 245, 245],
  gray: [128, 128, 128],
  black: [24, 24, 24],
  brown: [128, 84, 48],
  teal: [36, 150, 150],
};
export const COLOR_NAMES = Object.keys(COLORS);
