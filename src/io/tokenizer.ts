// The Qwen2 byte-level BPE tokenizer with LLaVA-ST's added tokens (architecture.md §5.1, §7.1).
//
// Pipeline for encode(text), as the HF fast tokenizer LLaVA-ST loads does it:
//   1. split out added/special tokens by exact match on the raw text (never normalised, no
//      lstrip/rstrip: "a <im_end>" keeps its space as its own token);
//   2. NFC-normalise each remaining piece;
//   3. pre-tokenise with the Qwen2 regex (one digit per piece, contractions, whitespace runs);
//   4. map UTF-8 bytes to the GPT-2 byte alphabet and apply the BPE merges by rank.
// No BOS/EOS is added. decode(ids) keeps added tokens verbatim with no spaces between them.
//
// The BPE itself is @huggingface/tokenizers (tokenizers.js): fed a tokenizer.json object built in
// memory from vocab.json + merges.txt + the added-token files, it reproduces every reference
// pair in shared/fixtures/qwen2-tokenizer exactly (see test/io/tokenizer.test.ts). It translates
// the Oniguruma pattern faithfully (\s as Unicode White_Space, not JavaScript's \s with U+FEFF).
//
// Where the added tokens come from, in order; all sources are merged and must agree:
//   tokenizer.json `added_tokens`, tokenizer_config.json `added_tokens_decoder`,
//   added_tokens.json (content -> id), llava_st_added_tokens.json (an id table whose
//   `<X-000>`/`<X-099>` endpoints stand for the whole run between them).

import { Tokenizer } from '@huggingface/tokenizers';
import { LlavaStError } from '../core/errors.js';
import { MAX_SMALL_FILE_BYTES, SourceError, readText, type ModelSource } from '../core/source.js';

/** A missing, unreadable or inconsistent tokenizer file, or an id the tokenizer does not know. */
export class TokenizerError extends LlavaStError {
  constructor(message: string, options?: { cause?: unknown }) { super('E_TOKENIZER', message, options); }
}

/** Qwen2's pre-tokenisation pattern (Oniguruma syntax, as in Qwen2's tokenizer.json). */
export const QWEN2_PRETOKENIZE_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export interface AddedTokenEntry { id: number; content: string; special: boolean }

/**
 * The tokenizer files, already read (JSON parsed, merges.txt as text). Either `tokenizerJson`
 * or both `vocab` and `merges` must be present. `names` maps each field to the path it came
 * from, for error messages.
 */
export interface TokenizerFiles {
  tokenizerJson?: unknown;
  vocab?: unknown;
  merges?: string;
  tokenizerConfig?: unknown;
  addedTokens?: unknown;
  llavaStAddedTokens?: unknown;
  names?: Partial<Record<Exclude<keyof TokenizerFiles, 'names'>, string>>;
}

const FILE_NAMES = {
  tokenizerJson: 'tokenizer.json',
  vocab: 'vocab.json',
  merges: 'merges.txt',
  tokenizerConfig: 'tokenizer_config.json',
  addedTokens: 'added_tokens.json',
  llavaStAddedTokens: 'llava_st_added_tokens.json',
} as const satisfies Record<Exclude<keyof TokenizerFiles, 'names'>, string>;
export type FileKey = keyof typeof FILE_NAMES;

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

export class Qwen2Tokenizer {
  /** Number of ids, i.e. len(tokenizer): 151960 for LLaVA-ST (max id + 1). */
  readonly size: number;
  /** Every added token, by id. */
  readonly addedTokens: readonly AddedTokenEntry[];
  private readonly inner: Tokenizer;
  private readonly addedByContent: ReadonlyMap<string, number>;
  private addedPattern: RegExp | undefined;

  private constructor(inner: Tokenizer, added: AddedTokenEntry[], bpeSize: number) {
    this.inner = inner;
    this.addedTokens = added;
    this.addedByContent = new Map(added.map((t) => [t.content, t.id]));
    this.size = Math.max(bpeSize, ...added.map((t) => t.id + 1));
  }

  /**
   * Reads a checkpoint or tokenizer directory (Node only). Building the BPE tables from vocab.json
   * and merges.txt takes about a second; they are cached (node:v8 serialization, keyed by a hash of
   * every tokenizer file) in the project's cache folder beside the kernel choices ($LLAVA_ST_CACHE_DIR,
   * else $XDG_CACHE_HOME/llava-st, else ~/.cache/llava-st), and read back in a third of the time.
   * LLAVA_ST_CACHE_DIR= (empty) turns it off.
   */
  static async fromDirectory(dir: string): Promise<Qwen2Tokenizer> {
    const { stat } = await import('node:fs/promises');
    const { DirSource } = await import('../core/dir_source.js');
    const { tablesCache } = await import('./tokenizer_cache.js');
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) throw new TokenizerError(`tokenizer directory ${dir} does not exist or is not a directory`);
    const source = new DirSource(dir);
    try {
      return await Qwen2Tokenizer.fromSource(source, tablesCache);
    } finally {
      await source.close();
    }
  }

  /**
   * Reads the tokenizer files of a model source: a folder, a URL, files dropped in a page.
   * `cacheFor` (Node: io/tokenizer_cache) keeps built BPE tables between runs.
   */
  static async fromSource(source: ModelSource, cacheFor?: (texts: Partial<Record<FileKey, string>>) => TablesCache | undefined): Promise<Qwen2Tokenizer> {
    const texts: Partial<Record<FileKey, string>> = {};
    const files: TokenizerFiles = { names: {} };
    for (const key of Object.keys(FILE_NAMES) as FileKey[]) {
      const path = source.where(FILE_NAMES[key]);
      let text: string | undefined;
      try {
        text = await readText(source, FILE_NAMES[key], MAX_SMALL_FILE_BYTES);
      } catch (err) {
        throw new TokenizerError(`${path}: unreadable (${err instanceof SourceError ? err.reason : (err as Error).message})`, { cause: err });
      }
      if (text === undefined) continue; // optional unless required below
      texts[key] = text;
      files.names![key] = path;
    }
    if (texts.tokenizerJson === undefined) {
      for (const key of ['vocab', 'merges'] as const) {
        if (texts[key] === undefined) {
          throw new TokenizerError(`${source.where(FILE_NAMES[key])}: missing (a tokenizer directory needs tokenizer.json, or vocab.json and merges.txt)`);
        }
      }
    }
    const cache = texts.tokenizerJson === undefined ? cacheFor?.(texts) : undefined;
    const tables = await cache?.read();
    for (const key of Object.keys(texts) as FileKey[]) {
      const text = texts[key]!;
      if (key === 'merges') { if (!tables) files.merges = text; continue; }
      if (key === 'vocab' && tables) continue;
      try {
        files[key] = JSON.parse(text);
      } catch (err) {
        throw new TokenizerError(`${files.names![key]}: not valid JSON (${(err as Error).message})`, { cause: err });
      }
    }
    const tokenizer = Qwen2Tokenizer.fromFiles(files, tables);
    if (cache && !tables) await cache.write(tokenizer.bpeTables());
    return tokenizer;
  }

  /** Builds the tokenizer from files already in memory (works in a browser too). */
  static fromFiles(files: TokenizerFiles, tables?: BpeTables): Qwen2Tokenizer {
    const name = (key: FileKey): string => files.names?.[key] ?? FILE_NAMES[key];
    const added = collectAddedTokens(files, name);
    let json: Record<string, unknown>;
    let bpeSize: number;
    if (files.tokenizerJson !== undefined) {
      if (!isRecord(files.tokenizerJson) || !isRecord(files.tokenizerJson['model'])) {
        throw new TokenizerError(`${name('tokenizerJson')}: no "model" object`);
      }
      const model = files.tokenizerJson['model'];
      if (model['type'] !== undefined && model['type'] !== 'BPE') {
        throw new TokenizerError(`${name('tokenizerJson')}: model type ${String(model['type'])} is not BPE`);
      }
      bpeSize = checkVocab(model['vocab'], name('tokenizerJson'), added);
      json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...files.tokenizerJson };
    } else if (tables) {
      bpeSize = tables.bpeSize;
      json = qwen2TokenizerJson({}, []);
    } else {
      if (files.vocab === undefined) throw new TokenizerError(`${name('vocab')}: missing`);
      if (files.merges === undefined) throw new TokenizerError(`${name('merges')}: missing`);
      bpeSize = checkVocab(files.vocab, name('vocab'), added);
      json = qwen2TokenizerJson(files.vocab as Record<string, number>, parseMerges(files.merges, name('merges')));
    }
    json = {
      ...json,
      added_tokens: added.map((t) => ({
        id: t.id, content: t.content, special: t.special,
        single_word: false, lstrip: false, rstrip: false, normalized: false,
      })),
    };
    const config = isRecord(files.tokenizerConfig) ? files.tokenizerConfig : {};
    let inner: Tokenizer;
    try {
      // Qwen2 ships clean_up_tokenization_spaces=false; tokenizers.js would default it to true.
      inner = new Tokenizer(json, { clean_up_tokenization_spaces: config['clean_up_tokenization_spaces'] ?? false });
    } catch (err) {
      throw new TokenizerError(`${files.tokenizerJson !== undefined ? name('tokenizerJson') : name('vocab')}: ${(err as Error).message}`, { cause: err });
    }
    if (tables) installTables(inner, tables);
    return new Qwen2Tokenizer(inner, added, bpeSize);
  }

  /** The built BPE tables, for the cache; undefined if tokenizers.js keeps them some other way. */
  bpeTables(): BpeTables | undefined {
    const model = this.inner.model as unknown as Partial<Omit<BpeTables, 'bpeSize'>> | null;
    if (!(model?.tokens_to_ids instanceof Map) || !Array.isArray(model.vocab) || !(model.bpe_ranks instanceof Map)) return undefined;
    return { tokens_to_ids: model.tokens_to_ids, vocab: model.vocab, bpe_ranks: model.bpe_ranks, bpeSize: this.size };
  }

  /** Token ids of `text`: added tokens split out first, no BOS/EOS (the reference's behaviour). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  /**
   * Token ids of `text` read as plain text: the spelling of an added token ("<|im_end|>") is
   * BPE-encoded like any other text, never turned into that token. Text without added tokens
   * gets the same ids as encode().
   */
  encodePlain(text: string): number[] {
    const { normalizer, pre_tokenizer: preTokenizer, model } = this.inner;
    if (text.length === 0 || !model) return [];
    const normalized = normalizer ? normalizer(text) : text;
    const words = preTokenizer ? preTokenizer(normalized) : [normalized];
    return (model(words) as string[]).map((t) => {
      const id = model.tokens_to_ids.get(t);
      if (id === undefined) throw new TokenizerError(`encodePlain: BPE produced ${JSON.stringify(t)}, which is not in the vocabulary`);
      return id;
    });
  }

  /** `text` cut at its added tokens, as encode() cuts it: text runs, and added tokens as ids. */
  splitAddedTokens(text: string): (string | number)[] {
    const out: (string | number)[] = [];
    let last = 0;
    for (const m of text.matchAll(this.addedTokenPattern)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(this.addedByContent.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  /** Matches any added token, longest first at each position (as the library's trie does). */
  get addedTokenPattern(): RegExp {
    this.addedPattern ??= alternation(this.addedTokens.map((t) => t.content));
    return this.addedPattern;
  }

  /** The text of `ids`, added tokens kept verbatim; invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.size || this.inner.id_to_token(id) === undefined) {
        throw new TokenizerError(`decode: ids[${i}] = ${id} is not a token id (0..${this.size - 1})`);
      }
    });
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Id of a token as written in the vocabulary (byte alphabet, e.g. "Ġthe") or an added token. */
  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.inner.token_to_id(token);
  }

  /** The vocabulary string of `id` (byte alphabet for BPE tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  /** Id of an added token that must exist (e.g. "<im_patch>"); throws naming the token. */
  requireId(token: string): number {
    const id = this.addedByContent.get(token);
    if (id === undefined) throw new TokenizerError(`tokenizer has no added token ${token}`);
    return id;
  }
}

/** A global regex matching any of `words` literally, the longest first where several start at one place. */
export function alternation(words: readonly string[]): RegExp {
  const escaped = [...words].sort((a, b) => b.length - a.length).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(escaped.length > 0 ? escaped.join('|') : '(?!)', 'gu');
}

/**
 * tokenizers.js's BPE model state after construction (its field names): token -> id and id -> token
 * (added tokens included), and merge ranks keyed by JSON.stringify([left, right]).
 */
/** Where built BPE tables are kept between runs (Node: io/tokenizer_cache). */
export interface TablesCache {
  read(): Promise<BpeTables | undefined>;
  write(tables?: BpeTables): Promise<void>;
}

export interface BpeTables {
  tokens_to_ids: Map<string, number>;
  vocab: string[];
  bpe_ranks: Map<string, number>;
  bpeSize: number;
}

/** Puts cached tables into a model built with an empty vocabulary, where tokenizers.js keeps them. */
function installTables(inner: Tokenizer, tables: BpeTables): void {
  const model = inner.model as unknown as Record<string, unknown> | null;
  if (!(model?.['bpe_ranks'] instanceof Map) || !(model['tokens_to_ids'] instanceof Map)) {
    throw new TokenizerError('tokenizer cache: this tokenizers.js keeps its BPE tables differently; delete the cache');
  }
  model['tokens_to_ids'] = tables.tokens_to_ids;
  model['vocab'] = tables.vocab;
  model['bpe_ranks'] = tables.bpe_ranks;
}

// ---- building the in-memory tokenizer.json ------------------------------------------------

function qwen2TokenizerJson(vocab: Record<string, number>, merges: [string, string][]): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_PRETOKENIZE_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

/** merges.txt: an optional `#version` header, then "a b" per line. Lines like "# #" are merges. */
function parseMerges(text: string, file: string): [string, string][] {
  const lines = text.split('\n');
  const out: [string, string][] = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length === 0 || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new TokenizerError(`${file}:${i + 1}: expected two tokens separated by one space, got ${JSON.stringify(line)}`);
    }
    out.push([parts[0]!, parts[1]!]);
  });
  return out;
}

/**
 * Checks vocab is {token: id} with distinct non-negative ids, and that an added token reuses a
 * BPE id only with the same content. Returns max id + 1.
 */
function checkVocab(vocab: unknown, file: string, added: readonly AddedTokenEntry[]): number {
  if (!isRecord(vocab)) throw new TokenizerError(`${file}: vocabulary is not a {token: id} object`);
  const addedById = new Map(added.map((t) => [t.id, t.content]));
  const seen = new Set<number>();
  let size = 0;
  for (const token in vocab) {
    const id = vocab[token];
    if (!isId(id)) throw new TokenizerError(`${file}: token ${JSON.stringify(token)} has id ${String(id)}, not a non-negative integer`);
    if (seen.has(id)) throw new TokenizerError(`${file}: id ${id} is used twice (second time by ${JSON.stringify(token)})`);
    seen.add(id);
    size = Math.max(size, id + 1);
    const content = addedById.get(id);
    if (content !== undefined && content !== token) {
      throw new TokenizerError(`${file}: id ${id} is BPE token ${JSON.stringify(token)} and also added token ${content}`);
    }
  }
  return size;
}

// ---- added tokens -------------------------------------------------------------------------

function collectAddedTokens(files: TokenizerFiles, name: (k: FileKey) => string): AddedTokenEntry[] {
  const byId = new Map<number, AddedTokenEntry & { from: string }>();
  const byContent = new Map<string, number>();
  const add = (id: unknown, content: unknown, special: boolean, from: string): void => {
    if (!isId(id) || typeof content !== 'string' || content.length === 0) {
      throw new TokenizerError(`${from}: added token ${JSON.stringify(content)} -> ${String(id)} is not a (non-empty string, id) pair`);
    }
    const prevContent = byId.get(id);
    if (prevContent !== undefined && prevContent.content !== content) {
      throw new TokenizerError(`${from}: id ${id} is ${content}, but ${prevContent.from} says ${prevContent.content}`);
    }
    const prevId = byContent.get(content);
    if (prevId !== undefined && prevId !== id) {
      throw new TokenizerError(`${from}: ${content} has id ${id}, but ${byId.get(prevId)!.from} says ${prevId}`);
    }
    if (prevContent === undefined) byId.set(id, { id, content, special, from });
    byContent.set(content, id);
  };

  if (isRecord(files.tokenizerJson) && Array.isArray(files.tokenizerJson['added_tokens'])) {
    for (const t of files.tokenizerJson['added_tokens'] as unknown[]) {
      const r = isRecord(t) ? t : {};
      add(r['id'], r['content'], r['special'] !== false, name('tokenizerJson'));
    }
  }
  if (isRecord(files.tokenizerConfig) && isRecord(files.tokenizerConfig['added_tokens_decoder'])) {
    for (const [id, t] of Object.entries(files.tokenizerConfig['added_tokens_decoder'])) {
      const r = isRecord(t) ? t : {};
      add(Number(id), r['content'], r['special'] !== false, name('tokenizerConfig'));
    }
  }
  if (files.addedTokens !== undefined) {
    if (!isRecord(files.addedTokens)) throw new TokenizerError(`${name('addedTokens')}: not a {token: id} object`);
    for (const [content, id] of Object.entries(files.addedTokens)) add(id, content, true, name('addedTokens'));
  }
  if (files.llavaStAddedTokens !== undefined) {
    for (const [content, id] of llavaStTable(files.llavaStAddedTokens, name('llavaStAddedTokens'))) {
      add(id, content, true, name('llavaStAddedTokens'));
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id).map(({ id, content, special }) => ({ id, content, special }));
}

/** llava_st_added_tokens.json's id tables, with `<X-000>`..`<X-099>` endpoint pairs filled in. */
function llavaStTable(json: unknown, file: string): [string, unknown][] {
  if (!isRecord(json)) throw new TokenizerError(`${file}: not a JSON object`);
  const out: [string, unknown][] = [];
  for (const table of ['qwen2_control_tokens', 'llava_st_tokens']) {
    const t = json[table];
    if (t === undefined) continue;
    if (!isRecord(t)) throw new TokenizerError(`${file}: "${table}" is not a {token: id} object`);
    out.push(...Object.entries(t));
  }
  const RUN = /^<([A-Z]+)-(\d{3})>$/;
  const starts = new Map<string, [number, unknown]>();
  for (const [content, id] of [...out]) {
    const m = RUN.exec(content);
    if (m === null) continue;
    const first = starts.get(m[1]!);
    if (first === undefined) { starts.set(m[1]!, [Number(m[2]), id]); continue; }
    const [k0, id0] = first;
    const k1 = Number(m[2]);
    if (!isId(id0) || !isId(id) || (id as number) - id0 !== k1 - k0) {
      throw new TokenizerError(`${file}: run <${m[1]}-${k0}>..${content} has ids ${String(id0)}..${String(id)}, not consecutive`);
    }
    for (let k = k0 + 1; k < k1; k++) out.push([`<${m[1]}-${String(k).padStart(3, '0')}>`, id0 + k - k0]);
  }
  if (json['len_tokenizer'] !== undefined) {
    const maxId = Math.max(...out.map(([, id]) => (isId(id) ? id : -1)));
    if (maxId + 1 !== json['len_tokenizer']) {
      throw new TokenizerError(`${file}: len_tokenizer is ${String(json['len_tokenizer'])} but the largest id is ${maxId}`);
    }
  }
  return out;
}
