// Reference-compatible output parsing: LLaVA-ST's `replace_and_normalize` and its four text
// parsers (inference/src/utils.py at bacf6d6), reproduced quirk for quirk because the metrics
// must give the reference's numbers. The behaviour is specified in prose in
// shared/fixtures/metrics/README.md ("Coordinate tokens to text", "Parsers"); every rule below
// is checked against the 308 cases of parsing.json.
//
// These parsers fail silently, as the reference does (a span becomes [0, 0], a pair is dropped).
// For a parser that says what is wrong and where, use `coordinates.ts`.

import { InputError } from '../core/errors.js';
import { PY_SPACE, pyFloat, pyFormatFixed, toAsciiDigits } from '../io/python.js';

/** Four numbers [x1, y1, x2, y2] in whatever unit the text carried. */
export type Box4 = [number, number, number, number];

/** A reference parser's outcome: `failed` is true exactly where the reference printed its message. */
export interface RefParse<T> {
  value: T;
  failed: boolean;
}

// Python's `\d` on str patterns is any Unicode decimal digit, and `\s` is str.isspace() (PY_SPACE).
const D = '\\p{Nd}';
const S = PY_SPACE;
const NUM = `(${D}+(?:\\.${D}+)?)`; // no sign, no exponent, no bare leading or trailing '.'
const COORD_TOKEN = new RegExp(`<(WIDTH|HEIGHT|TEMP)-(${D}+)>`, 'gu');
const BOX = new RegExp(`\\[${NUM},${S}*${NUM},${S}*${NUM},${S}*${NUM}\\]`, 'u');
const SPAN = new RegExp(`\\{${S}*${NUM},${S}*${NUM}${S}*\\}`, 'u');
const PAIR = new RegExp(`${NUM},:${S}*\\[${NUM},${S}*${NUM},${S}*${NUM},${S}*${NUM}\\]`, 'gu');

/**
 * LLaVA-ST's `replace_and_normalize(text, return_token)`. Every `<WIDTH-n>`, `<HEIGHT-n>`,
 * `<TEMP-n>` (n: digits of any length, uncapped, case-sensitive) becomes `"%.5f," % (n/99)`
 * or, in token mode, `"n,"`; then every `,]` becomes `]` and every `,}` becomes `}` in the
 * whole string, including ones that did not come from tokens.
 */
export function replaceAndNormalize(text: string, returnToken = false): string {
  const replaced = text.replace(COORD_TOKEN, (_m, _kind: string, digits: string) => {
    const n = BigInt(toAsciiDigits(digits));
    if (returnToken) return `${n},`;
    const value = Number(n) / 99; // exact quotient rounding for n < 2^53, i.e. any real token
    if (!Number.isFinite(value)) {
      throw new InputError(`replaceAndNormalize: coordinate token value ${digits} is too large for a float`);
    }
    return `${pyFormatFixed(value, 5)},`;
  });
  return replaced.replaceAll(',]', ']').replaceAll(',}', '}');
}

/** `parse_box_from_text`: drop U+0020 spaces, take the first `[a,b,c,d]`; null if none. */
export function parseBoxFromText(text: string): RefParse<Box4 | null> {
  const m = BOX.exec(text.replaceAll(' ', ''));
  if (m === null) return { value: null, failed: true };
  return { value: [pyFloat(m[1]!), pyFloat(m[2]!), pyFloat(m[3]!), pyFloat(m[4]!)], failed: false };
}

/** `parse_span_from_text`: the first `{s,e}` (no space before the comma); [0, 0] if none. */
export function parseSpanFromText(text: string): RefParse<[number, number]> {
  const m = SPAN.exec(text);
  if (m === null) return { value: [0, 0], failed: true };
  return { value: [pyFloat(m[1]!), pyFloat(m[2]!)], failed: false };
}

/**
 * `parse_stpair_from_text`: drop U+0020 spaces, then every `k,:[a,b,c,d]` left to right into
 * an insertion-ordered dict keyed by the float k. A repeated key keeps the last box at the
 * position of its first appearance, which is exactly what a JavaScript Map does.
 */
export function parseStpairFromText(text: string): Map<number, Box4> {
  const pairs = new Map<number, Box4>();
  for (const m of text.replaceAll(' ', '').matchAll(PAIR)) {
    pairs.set(pyFloat(m[1]!), [pyFloat(m[2]!), pyFloat(m[3]!), pyFloat(m[4]!), pyFloat(m[5]!)]);
  }
  return pairs;
}

/** `parse_float_from_text`: the first `{prefix}` + optional whitespace + number; 0 if none. */
export function parseFloatFromText(text: string, prefix = 'Ends in'): RefParse<number> {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${escaped}${S}*${NUM}`, 'u').exec(text);
  if (m === null) return { value: 0, failed: true };
  return { value: pyFloat(m[1]!), failed: false };
}

/**
 * ELC's predicted caption as `eval_stvg` cuts it: the raw output up to the first '.', then the
 * last ','-separated piece of that, leading space kept ("Mr. Smith" gives " Mr").
 */
export function elcPredCaption(outputs: string): string {
  return outputs.split('.')[0]!.split(',').at(-1)!;
}
