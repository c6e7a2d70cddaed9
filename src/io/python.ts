// Python semantics the reference relies on, reproduced exactly: rounding, fixed-point formatting,
// fsum, float() of a string and repr() of a float, and what str.isspace() calls whitespace.
//
// The reference metrics use three Python primitives whose results depend on the exact binary
// value of a double, not on a JavaScript idiom that looks similar:
//   round(x)        half to even                      (Math.round is half up)
//   round(x, n)     correctly rounded on the exact binary value, ties to even
//                   (Number.toFixed picks the larger on ties: 0.0625 -> "0.063", Python 0.062;
//                    Math.round(x*1000)/1000 gets near-ties wrong: 9/2000 -> 0.005, Python 0.004)
//   "%.nf" % x      same correctly rounded decimal, written out
// All three come down to one operation: round |x|·10^n to an integer, half to even, computed
// exactly with BigInt on the double's mantissa and exponent.

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** |x| = mantissa · 2^exponent exactly, for finite x. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  F64[0] = Math.abs(x);
  const bits = U64[0]!;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 } // subnormal
    : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** round_half_even(|x| · 10^digits) as an exact integer (digits ≥ 0, x finite). */
function scaledHalfEven(x: number, digits: number): bigint {
  const { mantissa, exponent } = decompose(x);
  const num = mantissa * 10n ** BigInt(digits);
  if (exponent >= 0) return num << BigInt(exponent);
  const den = 1n << BigInt(-exponent);
  const q = num / den;
  const twiceRem = 2n * (num % den);
  if (twiceRem > den || (twiceRem === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** Python's `round(x)`: nearest integer, ties to even. Returns ±Infinity/NaN unchanged. */
export function pyRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const diff = x - f; // exact for |x| < 2^52; above that x is already an integer
  if (diff < 0.5) return f === 0 ? 0 : f; // Python's round returns an int: never -0
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Python's `round(x, digits)` on a float, digits ≥ 0. */
export function pyRoundDigits(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const q = scaledHalfEven(x, digits);
  const v = Number(`${q}e-${digits}`); // decimal -> nearest double, as CPython does
  return x < 0 ? -v : v;
}

/** Python's `"%.{digits}f" % x` (correctly rounded, ties to even, full digits for big x). */
export function pyFormatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const q = scaledHalfEven(x, digits).toString().padStart(digits + 1, '0');
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (digits === 0) return sign + q;
  return `${sign}${q.slice(0, q.length - digits)}.${q.slice(q.length - digits)}`;
}

/**
 * Python's `math.fsum`: the correctly rounded sum (Shewchuk's exact partials, then the
 * half-even fix-up of the last step). The synth set's reference means were taken this way
 * (numpy-style mean); a left-to-right sum differs in the last bit.
 */
export function fsum(xs: Iterable<number>): number {
  const partials: number[] = [];
  for (let x of xs) {
    let i = 0;
    for (let y of partials) {
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // lo and the next partial have the same sign: the exact sum lies past a halfway point
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** A regex character class of Python's str.isspace(), which differs from JavaScript's \s (it has
 *  U+001C..U+001F and U+0085, and lacks U+FEFF); `\s` in the reference's str patterns means this. */
export const PY_SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';

const ND = /^\p{Nd}$/u;

/** Python's int()/float() accept any Unicode decimal digit; map each to ASCII. */
export function toAsciiDigits(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') { out += ch; continue; }
    if (!ND.test(ch)) { out += ch; continue; }
    // Unicode lays out each Nd script as a run of ten code points, zero first.
    let cp = ch.codePointAt(0)!;
    let offset = 0;
    while (ND.test(String.fromCodePoint(cp - 1))) { cp--; offset++; }
    out += String(offset % 10);
  }
  return out;
}

/** Python's `float(s)` of a number the reference's `\d` patterns matched (any Unicode digits). */
export const pyFloat = (s: string): number => Number(toAsciiDigits(s));

/**
 * Python's `repr(x)` of a float: the shortest digits that round-trip (as JavaScript's), written
 * fixed for 1e-4 <= |x| < 1e16 with at least one decimal (`1.0`), otherwise as `1.5e-05`, `1e+16`.
 */
export function pyReprFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === 0) return `${sign}0.0`;
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  return `${sign}${whole}.${digits.slice(e + 1) || '0'}`;
}
