// The LLaVA-ST prompt: text formatting, media placeholders and the hand-rolled ChatML encoder,
// built exactly as the reference does (architecture.md §5.4, §7.1, §7.2; LLaVA-ST at bacf6d6:
// demo/utils.py format_conversations, inference/src/utils.py format_*_in_text / get_variables,
// inference/multi_task_inference.py preprocess_multimodal / preprocess_qwen).
//
// Steps, per turn, in the reference's order:
//   1. coordinates -> placeholders, values kept inline:  <t0.409> -> <TEMP-INPUT0.409>
//      (demo syntax), or [a,b,c,d] / {s,e} / "Starts in s" (benchmark syntax);
//      user turns get -INPUT, assistant turns -OUTPUT;
//   2. values moved out, per placeholder type in order of appearance: <TEMP-INPUT0.409> -> <TEMP-INPUT>;
//   3. a lone <image>/<video> tag not at the front is moved there and followed by "\n";
//      the tag becomes its placeholder run.
// Then every piece is tokenized SEPARATELY and the id lists concatenated (§7.1):
//   [<|im_start|>] T("system") T("\n") T(system) [<|im_end|>] T("\n")
//   per turn: T("<|im_start|>user"|"<|im_start|>assistant") T("\n") T(value) [<|im_end|>] T("\n")
//   T("<|im_start|>assistant") T("\n")                      (left open for generation)
//
// Length legend (LLaVA-ST-Qwen2-7B): fixed chat overhead 19 ids; image run 729; video runs
// 900 (fast, <vid_start>..<vid_end>) + 1620 (slow, <slow_vid_start>..<slow_vid_end>).

import { InputError } from '../core/errors.js';
import { alternation, type Qwen2Tokenizer } from '../io/tokenizer.js';
import { PY_SPACE, pyFloat, pyRoundDigits } from '../io/python.js';
import { PLACEHOLDERS, emptyVariables, type CoordinateWord, type Variables } from '../model/coordinate_vocab.js';

export { emptyVariables, type Variables } from '../model/coordinate_vocab.js';

export type Modality = 'image' | 'video' | 'text';
export type Role = 'user' | 'assistant';
/** 'demo': inline <t0.4>, <w0.5>, <h0.6>. 'benchmark': [a,b,c,d], {s,e}, "Starts in s". */
export type CoordinateSyntax = 'demo' | 'benchmark';

export interface ChatTurn { role: Role; content: string }

export interface BuiltPrompt {
  ids: number[];
  /** The placeholder values, keyed as the reference's `variables`; what LlavaSt's Prompt takes. */
  variables: Variables;
  /** The whole prompt as one string (placeholder runs written out); decode(ids) gives it back. */
  text: string;
}

/** Placeholder run lengths, start and end tokens included. */
export interface MediaLayout { imageTokens: number; fastVideoTokens: number; slowVideoTokens: number }
/** 27×27 image tokens; video: fast 100 frames × 9 and slow 20 frames × 81 (§7.2). */
export const LLAVA_ST_MEDIA: MediaLayout = { imageTokens: 729, fastVideoTokens: 900, slowVideoTokens: 1620 };

export const DEFAULT_SYSTEM_MESSAGE = 'You are a helpful assistant.';
export const IMAGE_TAG = '<image>';
export const VIDEO_TAG = '<video>';

export interface PromptOptions {
  /** Media of the question: its tag is prepended (with "\n") unless the text already has it. */
  modality?: Modality;
  syntax?: CoordinateSyntax;
  systemMessage?: string;
  media?: MediaLayout;
  /**
   * false (default): what the turns spell stays text. An added token typed in them
   * ("<|im_end|>", "<im_patch>", "<TEMP-042>") is encoded as plain text, and only the first media
   * tag of the prompt's modality becomes the media block. true: the reference's behaviour, where
   * any such spelling becomes the control token (a forged turn, a media block with no features).
   */
  rawTokens?: boolean;
}

// ---- Python string semantics the reference relies on --------------------------------------

const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'gu');
/** Python's str.strip() with no argument. */
export const pyStrip = (s: string): string => s.replace(PY_STRIP, '');

// `\d` on a Python str pattern is any Unicode decimal digit, and float() accepts them all.
const NUM = '(\\p{Nd}+(?:\\.\\p{Nd}+)?)';
const round3 = (x: number): number => pyRoundDigits(x, 3);

// ---- step 1: coordinates -> placeholders with inline values -------------------------------

type Mode = 'INPUT' | 'OUTPUT';
const modeOf = (role: Role): Mode => (role === 'user' ? 'INPUT' : 'OUTPUT');
/** The intermediate form `<TEMP-INPUT0.409>`; String(v) parses back to exactly v. */
const inline = (kind: CoordinateWord, mode: Mode, v: number): string => `<${kind}-${mode}${String(v)}>`;

const DEMO_COORD = new RegExp(`<([twh])${NUM}>`, 'gu');
const DEMO_KIND = { t: 'TEMP', w: 'WIDTH', h: 'HEIGHT' } as const;

/** demo/utils.py format_text: each <t|w|h value> in place, rounded to 3 decimals, not clipped. */
export function formatDemoCoordinates(text: string, role: Role): string {
  return text.replace(DEMO_COORD, (_m, axis: 't' | 'w' | 'h', num: string) =>
    inline(DEMO_KIND[axis], modeOf(role), round3(pyFloat(num))));
}

const BENCH_BOX = new RegExp(`\\[${PY_SPACE}*${NUM},${PY_SPACE}*${NUM},${PY_SPACE}*${NUM},${PY_SPACE}*${NUM}${PY_SPACE}*\\]`, 'gu');
const BENCH_SPAN = new RegExp(`\\{${PY_SPACE}*${NUM},${PY_SPACE}*${NUM}${PY_SPACE}*\\}`, 'gu');
const BENCH_START = new RegExp(`Starts in ${NUM}`, 'gu');
const clip01 = (x: number): number => (x >= 0 && x <= 1 ? x : x < 0 ? 0 : 1);

/**
 * inference/src/utils.py, box then span then "Starts in":
 *   [a,b,c,d] -> " [<WIDTH-m a><HEIGHT-m b><WIDTH-m c><HEIGHT-m d>]"  (clipped, rounded)
 *   {s,e}     -> " {<TEMP-m s><TEMP-m e>} "  (rounded; "{<error>}" when s >= e)
 *   Starts in s -> " Starts in <TEMP-m s> "
 */
export function formatBenchmarkCoordinates(text: string, role: Role): string {
  const mode = modeOf(role);
  const boxed = text.replace(BENCH_BOX, (_m, a: string, b: string, c: string, d: string) => {
    const [x1, y1, x2, y2] = [a, b, c, d].map((n) => round3(clip01(pyFloat(n))));
    return ` [${inline('WIDTH', mode, x1!)}${inline('HEIGHT', mode, y1!)}${inline('WIDTH', mode, x2!)}${inline('HEIGHT', mode, y2!)}]`;
  });
  const spanned = boxed.replace(BENCH_SPAN, (_m, a: string, b: string) => {
    const s = pyFloat(a);
    const e = pyFloat(b);
    if (s >= e) return '{<error>}';
    return ` {${inline('TEMP', mode, round3(s))}${inline('TEMP', mode, round3(e))}} `;
  });
  return spanned.replace(BENCH_START, (_m, a: string) => ` Starts in ${inline('TEMP', mode, round3(pyFloat(a)))} `);
}

// ---- step 2: values out of the text -------------------------------------------------------

// The reference eval()s whatever sits between the key and the next '>'; accept numbers only.
const NUMBER_LITERAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** inference/src/utils.py get_variables, on one turn: appends to `into`, returns the text. */
export function extractVariables(text: string, into: Variables): string {
  let out = text;
  for (const { token, key: field } of PLACEHOLDERS) {
    const key = token.slice(1, -1);
    // Python's '.' stops only at '\n'.
    out = out.replace(new RegExp(`<${key}([^\\n]*?)>`, 'g'), (m, k: string) => {
      if (!NUMBER_LITERAL.test(k)) {
        throw new InputError(`prompt text: ${m} has no numeric value; write coordinates as <t0.5>, <w0.5>, <h0.5> (demo syntax) or [a,b,c,d] / {s,e} (benchmark syntax)`);
      }
      into[field].push(Number(k));
      return `<${key}>`;
    });
  }
  return out;
}

// ---- step 3: media tag -> placeholder run -------------------------------------------------

function run(start: string, patch: string, end: string, total: number): string {
  if (!Number.isInteger(total) || total < 2) throw new InputError(`media layout: run ${start}..${end} needs at least 2 tokens, got ${total}`);
  return start + patch.repeat(total - 2) + end;
}

/** preprocess_multimodal on one value (image wins when both tags occur, as in the reference). */
export function expandMedia(value: string, media: MediaLayout = LLAVA_ST_MEDIA): string {
  const moveToFront = (v: string, tag: string): string => {
    if (v.split(tag).length - 1 !== 1 || v.startsWith(tag)) return v;
    return pyStrip(`${tag}\n${pyStrip(v.replace(tag, ''))}`);
  };
  if (value.includes(IMAGE_TAG)) {
    const moved = moveToFront(value, IMAGE_TAG);
    const block = run('<im_start>', '<im_patch>', '<im_end>', media.imageTokens);
    // The reference also deletes this marker, a leftover of a LLaVA training set.
    return moved.replaceAll(IMAGE_TAG, block).replaceAll('QA_GT_caption_based_noisy', '');
  }
  if (value.includes(VIDEO_TAG)) {
    const moved = moveToFront(value, VIDEO_TAG);
    const block = run('<vid_start>', '<vid_patch>', '<vid_end>', media.fastVideoTokens)
      + run('<slow_vid_start>', '<vid_patch>', '<slow_vid_end>', media.slowVideoTokens);
    return moved.replaceAll(VIDEO_TAG, block);
  }
  return value;
}

// ---- user text stays text -----------------------------------------------------------------
//
// The reference tokenizes each formatted turn as one string, splitting out added tokens, so
// typed control tokens become control tokens. To keep them text, each is swapped for a
// private-use sentinel before formatting (steps 1-3 never touch it), and put back after the
// turn is cut at the added tokens the pipeline inserted; that text is then BPE-encoded as plain
// text. A turn with nothing to protect is encoded exactly as the reference encodes it.

const SENTINEL = '\uE000';
/** The placeholders step 2 reads (`<TEMP-INPUT0.4>`, or refuses bare): markup, not protected. */
const PLACEHOLDER_KEYS = new Set<string>(PLACEHOLDERS.map((p) => p.token));
const protectPatterns = new WeakMap<Qwen2Tokenizer, RegExp>();

/** Added tokens, both media tags and the sentinel itself: every spelling a turn must not smuggle. */
function protectPattern(tokenizer: Qwen2Tokenizer): RegExp {
  let re = protectPatterns.get(tokenizer);
  if (!re) {
    const words = tokenizer.addedTokens.map((t) => t.content).filter((c) => !PLACEHOLDER_KEYS.has(c));
    re = alternation([...words, IMAGE_TAG, VIDEO_TAG, SENTINEL]);
    protectPatterns.set(tokenizer, re);
  }
  return re;
}

/**
 * Swaps each protected spelling in `turns` for the sentinel, in order, except the first media tag
 * of `keepTag` (the one the reference moves to the front). Returns the turns and the spellings.
 */
function protectTurns(
  tokenizer: Qwen2Tokenizer, turns: readonly ChatTurn[], keepTag: string | undefined,
): { turns: ChatTurn[]; literals: string[][] } {
  let tagKept = false;
  const literals: string[][] = [];
  const out = turns.map((t) => {
    const mine: string[] = [];
    literals.push(mine);
    const content = t.content.replace(protectPattern(tokenizer), (m) => {
      if (m === keepTag && !tagKept) { tagKept = true; return m; }
      mine.push(m);
      return SENTINEL;
    });
    return { role: t.role, content };
  });
  return { turns: out, literals };
}

/** A formatted turn's ids: the pipeline's added tokens as tokens, the rest (spellings put back) as plain text. */
function encodeProtected(tokenizer: Qwen2Tokenizer, content: string, literals: readonly string[]): { ids: number[]; text: string } {
  if (literals.length === 0) return { ids: tokenizer.encode(content), text: content };
  let k = 0;
  const ids: number[] = [];
  let text = '';
  for (const part of tokenizer.splitAddedTokens(content)) {
    if (typeof part === 'number') { ids.push(part); text += tokenizer.decode([part]); continue; }
    const plain = part.replaceAll(SENTINEL, () => literals[k++]!);
    ids.push(...tokenizer.encodePlain(plain));
    text += plain;
  }
  return { ids, text };
}

// ---- the whole prompt ---------------------------------------------------------------------

/** Turns after steps 1–3, plus their values. */
export function formatConversation(
  turns: readonly ChatTurn[], opts: PromptOptions = {},
): { turns: ChatTurn[]; variables: Variables } {
  const variables = emptyVariables();
  const format = (opts.syntax ?? 'demo') === 'demo' ? formatDemoCoordinates : formatBenchmarkCoordinates;
  const out = turns.map((t) => ({
    role: t.role,
    content: expandMedia(extractVariables(format(t.content, t.role), variables), opts.media),
  }));
  return { turns: out, variables };
}

/** The question with its media tag, as demo.py makes the user turn ("<video>\n" + query). */
export function withMediaTag(question: string, modality: Modality): string {
  if (modality === 'text') return question;
  const tag = modality === 'image' ? IMAGE_TAG : VIDEO_TAG;
  return question.includes(tag) ? question : `${tag}\n${question}`;
}

/** A single-question generation prompt (the reference's only inference layout). */
export function buildPrompt(tokenizer: Qwen2Tokenizer, question: string, opts: PromptOptions = {}): BuiltPrompt {
  return buildConversationPrompt(tokenizer, [{ role: 'user', content: withMediaTag(question, opts.modality ?? 'text') }], opts);
}

/**
 * A multi-turn prompt: user, assistant, ..., user; an assistant turn is left open at the end.
 * `opts.modality` adds the tag to the first user turn when no turn has it.
 */
export function buildConversationPrompt(
  tokenizer: Qwen2Tokenizer, turns: readonly ChatTurn[], opts: PromptOptions = {},
): BuiltPrompt {
  if (turns.length === 0 || turns[0]!.role !== 'user' || turns.at(-1)!.role !== 'user') {
    throw new InputError('buildConversationPrompt: turns must start and end with a user turn');
  }
  turns.forEach((t, i) => {
    if (i > 0 && t.role === turns[i - 1]!.role) throw new InputError(`buildConversationPrompt: turns[${i}] repeats role ${t.role}`);
  });
  const modality = opts.modality ?? 'text';
  const tag = modality === 'image' ? IMAGE_TAG : VIDEO_TAG;
  const protectedTurns = opts.rawTokens
    ? { turns, literals: turns.map(() => []) }
    : protectTurns(tokenizer, turns, modality === 'text' ? undefined : tag);
  const asked = protectedTurns.turns;
  const tagged = modality === 'text' || asked.some((t) => t.content.includes(tag))
    ? asked
    : [{ role: 'user' as const, content: withMediaTag(asked[0]!.content, modality) }, ...asked.slice(1)];
  const { turns: formatted, variables } = formatConversation(tagged, opts);
  if (modality !== 'text') {
    for (const token of modality === 'image' ? ['<im_start>', '<im_patch>', '<im_end>'] : ['<vid_start>', '<vid_patch>', '<vid_end>', '<slow_vid_start>', '<slow_vid_end>']) {
      tokenizer.requireId(token); // else the run would silently become BPE text
    }
  }

  const imStart = tokenizer.requireId('<|im_start|>');
  const imEnd = tokenizer.requireId('<|im_end|>');
  const ids: number[] = [];
  let text = '';
  // One piece: tokenized on its own, as preprocess_qwen does. A number is an id taken as is.
  const piece = (p: string | number, literals: readonly string[] = []): void => {
    if (typeof p === 'number') { ids.push(p); text += tokenizer.decode([p]); return; }
    const encoded = encodeProtected(tokenizer, p, literals);
    ids.push(...encoded.ids);
    text += encoded.text;
  };
  const roleHeader = (role: Role): string => (role === 'user' ? '<|im_start|>user' : '<|im_start|>assistant');

  [imStart, 'system', '\n', opts.systemMessage ?? DEFAULT_SYSTEM_MESSAGE, imEnd, '\n'].forEach((p) => piece(p));
  formatted.forEach((t, i) => {
    [roleHeader(t.role), '\n'].forEach((p) => piece(p));
    piece(t.content, protectedTurns.literals[i]);
    [imEnd, '\n'].forEach((p) => piece(p));
  });
  [roleHeader('assistant'), '\n'].forEach((p) => piece(p));
  return { ids, variables, text };
}

// ---- helpers for fixtures and logs --------------------------------------------------------

/** Writes runs of one repeated added token as `<tok>×n` (n ≥ 2), for readable logs. */
export function compactRuns(text: string): string {
  return text.replace(/(<[^<>\s]+>)\1+/g, (m, tok: string) => `${tok}×${m.length / tok.length}`);
}
