// Caption scores for ELC, as pycocoevalcap 1.2 computes them (the reference calls it from
// eval_stvg; the metrics fixtures do not cover these numbers, see their README):
//   BLEU-1..4  Papineni et al. 2002, "BLEU: a method for automatic evaluation of machine
//              translation": corpus-level clipped n-gram precision, geometric mean, brevity
//              penalty with the 'closest' reference length; pycocoevalcap's smoothing
//              (+1e-15 / +1e-9) is kept.
//   ROUGE-L    Lin 2004, "ROUGE: A package for automatic evaluation of summaries": LCS
//              F-measure with beta = 1.2, best precision and recall over the references,
//              averaged over items.
//   CIDEr-D    Vedantam et al. 2015, "CIDEr: Consensus-based image description evaluation":
//              tf-idf n-gram vectors (n = 1..4, idf from the references of the whole corpus),
//              clipped cosine, Gaussian length penalty sigma = 6, x10. As in pycocoevalcap,
//              the "length" is the number of bigrams.
// Tokenisation: pycocoevalcap runs Stanford PTBTokenizer (-lowerCase -preserveLines) and drops
// punctuation tokens. `ptbTokenize` approximates it in TypeScript (lower-case, split
// punctuation and clitics, drop the same punctuation list); exotic text can tokenise
// differently from CoreNLP. METEOR needs the Java METEOR jar and is not computed.

import { pyRoundDigits } from '../io/python.js';

const PUNCTUATION = new Set(["''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-', '.', '?', '!', ',', ':', '-', '--', '...', ';']);
const BRACKETS: Record<string, string> = { '(': '-lrb-', ')': '-rrb-', '{': '-lcb-', '}': '-rcb-', '[': '-lsb-', ']': '-rsb-' };
const TOKEN = /n't|'(?:s|re|ve|ll|d|m)(?![\p{L}\p{N}])|[\p{L}\p{N}]+(?:[-.'][\p{L}\p{N}]+)*|\.\.\.|--|``|''|[^\s\p{L}\p{N}]/gu;

/** Lower-cased PTB-style tokens with pycocoevalcap's punctuation removed, joined by spaces. */
export function ptbTokenize(caption: string): string {
  const text = caption.replace(/\n/g, ' ').toLowerCase()
    .replace(/([\p{L}\p{N}])n't(?![\p{L}\p{N}])/gu, "$1 n't")
    .replace(/([\p{L}\p{N}])'(s|re|ve|ll|d|m)(?![\p{L}\p{N}])/gu, "$1 '$2")
    .replace(/"/g, ' " ');
  const tokens = (text.match(TOKEN) ?? []).map((t) => (t === '"' ? "''" : BRACKETS[t] ?? t));
  // PTB keeps a sentence-final period apart from abbreviations; a trailing '.' inside a word is split off
  const split = tokens.flatMap((t) => (t.length > 1 && t.endsWith('.') && t !== '...' ? [t.slice(0, -1), '.'] : [t]));
  return split.filter((t) => !PUNCTUATION.has(t)).join(' ');
}

type Corpus = Record<string, string[]>; // item key -> tokenised captions
type Counts = Map<string, number>;

function ngrams(words: string[], n: number, exactN = false): Counts {
  const c: Counts = new Map();
  for (let k = exactN ? n : 1; k <= n; k++) {
    for (let i = 0; i + k <= words.length; i++) {
      const g = words.slice(i, i + k).join(' ') + `\u0000${k}`;
      c.set(g, (c.get(g) ?? 0) + 1);
    }
  }
  return c;
}
const orderOf = (g: string): number => Number(g.slice(g.lastIndexOf('\u0000') + 1));
const words = (s: string): string[] => s.split(' ').filter((w) => w !== '');

/** Corpus BLEU-1..n with pycocoevalcap's 'closest' reference length and smoothing. */
export function bleu(gts: Corpus, res: Corpus, n = 4): number[] {
  const guess = new Array<number>(n).fill(0);
  const correct = new Array<number>(n).fill(0);
  let testLen = 0;
  let refLen = 0;
  for (const key of Object.keys(res)) {
    const hyp = words(res[key]![0]!);
    const refs = gts[key]!.map(words);
    const maxRef: Counts = new Map();
    for (const r of refs) for (const [g, c] of ngrams(r, n)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
    const lens = refs.map((r) => r.length);
    refLen += lens.reduce((best, l) => {
      const d = Math.abs(l - hyp.length) - Math.abs(best - hyp.length);
      return d < 0 || (d === 0 && l < best) ? l : best;
    });
    testLen += hyp.length;
    for (let k = 0; k < n; k++) guess[k]! += Math.max(0, hyp.length - k);
    for (const [g, c] of ngrams(hyp, n)) correct[orderOf(g) - 1]! += Math.min(maxRef.get(g) ?? 0, c);
  }
  const tiny = 1e-15;
  const small = 1e-9;
  const scores: number[] = [];
  let prod = 1;
  for (let k = 0; k < n; k++) {
    prod *= (correct[k]! + tiny) / (guess[k]! + small);
    scores.push(prod ** (1 / (k + 1)));
  }
  const ratio = (testLen + tiny) / (refLen + small);
  return ratio < 1 ? scores.map((s) => s * Math.exp(1 - 1 / ratio)) : scores;
}

function lcs(a: string[], b: string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const cur = [0];
    for (let j = 1; j <= b.length; j++) cur.push(x === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!));
    prev = cur;
  }
  return prev[b.length]!;
}

/** ROUGE-L F-measure (beta 1.2), averaged over items. */
export function rougeL(gts: Corpus, res: Corpus, beta = 1.2): number {
  const keys = Object.keys(res);
  const per = keys.map((key) => {
    const hyp = words(res[key]![0]!);
    let p = 0;
    let r = 0;
    for (const ref of gts[key]!.map(words)) {
      const l = lcs(ref, hyp);
      p = Math.max(p, hyp.length === 0 ? 0 : l / hyp.length);
      r = Math.max(r, ref.length === 0 ? 0 : l / ref.length);
    }
    return p !== 0 && r !== 0 ? ((1 + beta ** 2) * p * r) / (r + beta ** 2 * p) : 0;
  });
  return per.length === 0 ? 0 : per.reduce((s, v) => s + v, 0) / per.length;
}

/** CIDEr-D as pycocoevalcap's `Cider` (sigma 6, clipped, x10), averaged over items. */
export function ciderD(gts: Corpus, res: Corpus, n = 4, sigma = 6): number {
  const keys = Object.keys(res);
  const df: Counts = new Map();
  for (const key of keys) {
    const seen = new Set<string>();
    for (const r of gts[key]!) for (const g of ngrams(words(r), n).keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const refLen = Math.log(keys.length);
  const toVec = (counts: Counts) => {
    const vec = Array.from({ length: n }, () => new Map<string, number>());
    const norm = new Array<number>(n).fill(0);
    let length = 0;
    for (const [g, tf] of counts) {
      const k = orderOf(g) - 1;
      const v = tf * (refLen - Math.log(Math.max(1, df.get(g) ?? 0)));
      vec[k]!.set(g, v);
      norm[k]! += v * v;
      if (k === 1) length += tf; // pycocoevalcap counts bigrams here
    }
    return { vec, norm: norm.map(Math.sqrt), length };
  };
  const per = keys.map((key) => {
    const h = toVec(ngrams(words(res[key]![0]!), n));
    const refs = gts[key]!;
    const score = new Array<number>(n).fill(0);
    for (const r of refs) {
      const rv = toVec(ngrams(words(r), n));
      const delta = h.length - rv.length;
      for (let k = 0; k < n; k++) {
        let val = 0;
        for (const [g, v] of h.vec[k]!) { const w = rv.vec[k]!.get(g) ?? 0; val += Math.min(v, w) * w; }
        if (h.norm[k] !== 0 && rv.norm[k] !== 0) val /= h.norm[k]! * rv.norm[k]!;
        score[k]! += val * Math.exp(-(delta * delta) / (2 * sigma * sigma));
      }
    }
    return ((score.reduce((s, v) => s + v, 0) / n) / refs.length) * 10;
  });
  return per.length === 0 ? 0 : per.reduce((s, v) => s + v, 0) / per.length;
}

/** The ELC caption block of `eval_stvg`, each score rounded to 3 decimals as the reference does. */
export function scoreCaptions(
  gts: Record<string, { caption: string }[]>, res: Record<string, { caption: string }[]>,
): Record<string, number> {
  const tok = (c: Record<string, { caption: string }[]>): Corpus =>
    Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v.map((x) => ptbTokenize(x.caption))]));
  const g = tok(gts);
  const r = tok(res);
  const b = bleu(g, r);
  const out: Record<string, number> = {};
  b.forEach((v, i) => { out[`Bleu_${i + 1}`] = pyRoundDigits(v, 3); });
  out.ROUGE_L = pyRoundDigits(rougeL(g, r), 3);
  out.CIDEr = pyRoundDigits(ciderD(g, r), 3);
  return out;
}
