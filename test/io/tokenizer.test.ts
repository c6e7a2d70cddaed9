// Qwen2 tokenizer against the reference pairs in shared/fixtures/qwen2-tokenizer (README there):
// 46 llama.cpp strings + 19 misc strings, every pair exact; LLaVA-ST's added-token ids;
// tokenizer.json loading; typed errors; round-trip properties.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Qwen2Tokenizer, TokenizerError, QWEN2_PRETOKENIZE_PATTERN } from '../../src/io/tokenizer.js';

// dist/test/io/ -> the checkout root -> its sibling shared/
const SHARED = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared');
const FIXTURES = join(SHARED, 'fixtures', 'qwen2-tokenizer');
const SYNTH = join(SHARED, 'models', 'llava-st-synth');
const readJson = (dir: string, f: string): unknown => JSON.parse(readFileSync(join(dir, f), 'utf8'));

interface Pair { text: string; ids: number[] }
const PAIRS: { file: string; pairs: Pair[] }[] = ['pairs_llamacpp_reference.json', 'pairs_misc.json']
  .map((file) => ({ file, pairs: readJson(FIXTURES, file) as Pair[] }));

const started = performance.now();
const tok = await Qwen2Tokenizer.fromDirectory(FIXTURES);
const loadMs = performance.now() - started;

/** Every mismatch of `t` on the fixture pairs, one line each. */
function mismatches(t: Qwen2Tokenizer): string[] {
  const out: string[] = [];
  for (const { file, pairs } of PAIRS) {
    pairs.forEach((p, i) => {
      const ids = t.encode(p.text);
      if (JSON.stringify(ids) !== JSON.stringify(p.ids)) {
        out.push(`${file}[${i}] ${JSON.stringify(p.text)}: got ${JSON.stringify(ids)}, want ${JSON.stringify(p.ids)}`);
      }
      const text = t.decode(p.ids);
      if (text !== p.text.normalize('NFC')) out.push(`${file}[${i}] decode: got ${JSON.stringify(text)}`);
    });
  }
  return out;
}

test('loads the fixture directory in reasonable time', () => {
  console.log(`# tokenizer load: ${loadMs.toFixed(0)} ms`);
  assert.ok(loadMs < 10000, `load took ${loadMs} ms`); // 0.6-0.9 s idle; loose: CI machines are shared
  assert.equal(tok.size, 151960);
  assert.equal(tok.addedTokens.length, 317);
});

test('reproduces every reference pair (llama.cpp + misc) exactly, both ways', () => {
  assert.equal(PAIRS.reduce((n, p) => n + p.pairs.length, 0), 65);
  assert.deepEqual(mismatches(tok), []);
});

test('the BPE table cache: a second load reads it and gives the same ids; a corrupt entry is rebuilt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cache-'));
  const saved = process.env.LLAVA_ST_CACHE_DIR;
  process.env.LLAVA_ST_CACHE_DIR = dir;
  try {
    const built = await Qwen2Tokenizer.fromDirectory(FIXTURES);
    const [entry] = readdirSync(dir);
    assert.ok(entry?.endsWith('.v8'), 'the tables are cached');
    const cached = await Qwen2Tokenizer.fromDirectory(FIXTURES);
    assert.deepEqual(mismatches(cached), []);
    assert.equal(cached.size, built.size);
    assert.deepEqual(cached.encode('<|im_start|>user\nHi <TEMP-042>'), built.encode('<|im_start|>user\nHi <TEMP-042>'));
    writeFileSync(join(dir, entry!), 'garbage');
    assert.deepEqual(mismatches(await Qwen2Tokenizer.fromDirectory(FIXTURES)), []);
    assert.ok(readFileSync(join(dir, entry!)).length > 1000, 'rewritten');
  } finally {
    if (saved === undefined) delete process.env.LLAVA_ST_CACHE_DIR; else process.env.LLAVA_ST_CACHE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('encodePlain reads added-token spellings as text; splitAddedTokens cuts where encode does', () => {
  const text = 'Hi <|im_end|>\n<im_patch>x';
  assert.deepEqual(tok.encodePlain('plain words, 3.14'), tok.encode('plain words, 3.14'));
  const plain = tok.encodePlain(text);
  assert.ok(!plain.some((id) => id >= 151643), 'no added-token id');
  assert.equal(tok.decode(plain), text);
  const parts = tok.splitAddedTokens(text);
  assert.deepEqual(parts, ['Hi ', tok.requireId('<|im_end|>'), '\n', tok.requireId('<im_patch>'), 'x']);
  assert.deepEqual(parts.flatMap((p) => (typeof p === 'number' ? [p] : tok.encode(p))), tok.encode(text));
});

test('chat pieces have the ids of architecture.md §7.1', () => {
  assert.deepEqual(tok.encode('system'), [8948]);
  assert.deepEqual(tok.encode('\n'), [198]);
  assert.deepEqual(tok.encode('You are a helpful assistant.'), [2610, 525, 264, 10950, 17847, 13]);
  assert.deepEqual(tok.encode('<|im_start|>user'), [151644, 872]);
  assert.deepEqual(tok.encode('<|im_start|>assistant'), [151644, 77091]);
  assert.deepEqual(tok.encode(''), []);
});

test('added tokens are split first, never stripped, decoded with no spaces between', () => {
  assert.deepEqual(tok.encode(' <im_end> '), [220, 151647, 220]);
  assert.deepEqual(tok.encode('a<TEMP-000>b'), [64, 151660, 65]);
  assert.deepEqual(tok.encode('<TEMP-INPUT'), [27, 48343, 12, 29421]); // not a token: plain BPE
  assert.equal(tok.decode([151660, 151759, 151810, 151861]), '<TEMP-000><TEMP-099><HEIGHT-050><WIDTH-001>');
  // split on the raw text: NFC would otherwise fuse '>' + U+0338 into '≯' and lose the token
  assert.deepEqual(tok.encode('<TEMP-000>\u0338').slice(0, 1), [151660]);
  assert.equal(tok.decode([11162]), ' \uFFFD'); // ' ' + a lone UTF-8 lead byte -> replacement char
});

test('LLaVA-ST token ids match llava_st_added_tokens.json, in the fixture and in llava-st-synth', async () => {
  const table = readJson(FIXTURES, 'llava_st_added_tokens.json') as Record<string, Record<string, number>>;
  const want = { ...table['qwen2_control_tokens'], ...table['llava_st_tokens'] };
  const synth = await Qwen2Tokenizer.fromDirectory(SYNTH);
  for (const t of [tok, synth]) {
    for (const [token, id] of Object.entries(want)) {
      assert.equal(t.tokenToId(token), id, token);
      assert.equal(t.idToToken(id), token, `id ${id}`);
    }
    for (let k = 0; k < 100; k++) {
      const kk = String(k).padStart(3, '0');
      assert.equal(t.tokenToId(`<TEMP-${kk}>`), 151660 + k);
      assert.equal(t.tokenToId(`<HEIGHT-${kk}>`), 151760 + k);
      assert.equal(t.tokenToId(`<WIDTH-${kk}>`), 151860 + k);
    }
  }
  assert.deepEqual(synth.addedTokens, tok.addedTokens);
  assert.equal(tok.tokenToId('Ġ'), 220);
  assert.equal(tok.idToToken(220), 'Ġ');
  assert.equal(tok.tokenToId('<no such token>'), undefined);
});

test('fromFiles without tokenizer_config fills the LLaVA-ST runs from llava_st_added_tokens.json', () => {
  const t = Qwen2Tokenizer.fromFiles({
    vocab: readJson(FIXTURES, 'vocab.json'),
    merges: readFileSync(join(FIXTURES, 'merges.txt'), 'utf8'),
    llavaStAddedTokens: readJson(FIXTURES, 'llava_st_added_tokens.json'),
  });
  assert.deepEqual(t.addedTokens.map((a) => [a.id, a.content]), tok.addedTokens.map((a) => [a.id, a.content]));
  assert.deepEqual(t.encode('<HEIGHT-042> x'), [151802, 856]);
});

test('a directory with only tokenizer.json gives the same tokenizer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwen2-tokjson-'));
  try {
    const vocab = readJson(FIXTURES, 'vocab.json');
    const merges = readFileSync(join(FIXTURES, 'merges.txt'), 'utf8').split('\n').slice(1).filter((l) => l !== '');
    const cfg = readJson(FIXTURES, 'tokenizer_config.json') as { added_tokens_decoder: Record<string, object> };
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    // The layout of Qwen2's tokenizer.json as HF tokenizers writes it.
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({
      version: '1.0', truncation: null, padding: null,
      added_tokens: Object.entries(cfg.added_tokens_decoder).map(([id, t]) => ({ id: Number(id), ...t })),
      normalizer: { type: 'NFC' },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_PRETOKENIZE_PATTERN }, behavior: 'Isolated', invert: false }, byteLevel] },
      post_processor: byteLevel, decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
    }));
    const t = await Qwen2Tokenizer.fromDirectory(dir);
    assert.deepEqual(mismatches(t), []);
    assert.equal(t.tokenToId('<WIDTH-099>'), 151959);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('typed errors name the file at fault', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qwen2-bad-'));
  try {
    await assert.rejects(Qwen2Tokenizer.fromDirectory(join(dir, 'nope')), (e: unknown) =>
      e instanceof TokenizerError && e.code === 'E_TOKENIZER' && e.message.includes(join(dir, 'nope')));
    await assert.rejects(Qwen2Tokenizer.fromDirectory(dir), (e: unknown) =>
      e instanceof TokenizerError && e.message.includes('vocab.json'));
    copyFileSync(join(FIXTURES, 'vocab.json'), join(dir, 'vocab.json'));
    await assert.rejects(Qwen2Tokenizer.fromDirectory(dir), (e: unknown) =>
      e instanceof TokenizerError && e.message.includes('merges.txt'));
    copyFileSync(join(FIXTURES, 'merges.txt'), join(dir, 'merges.txt'));
    writeFileSync(join(dir, 'added_tokens.json'), '{"<im_start>": 7,');
    await assert.rejects(Qwen2Tokenizer.fromDirectory(dir), (e: unknown) =>
      e instanceof TokenizerError && e.message.includes('added_tokens.json') && e.message.includes('JSON'));
    // <im_start> is 151646 in llava_st_added_tokens.json: a different id must be refused
    writeFileSync(join(dir, 'added_tokens.json'), '{"<im_start>": 151700}');
    copyFileSync(join(FIXTURES, 'llava_st_added_tokens.json'), join(dir, 'llava_st_added_tokens.json'));
    await assert.rejects(Qwen2Tokenizer.fromDirectory(dir), (e: unknown) =>
      e instanceof TokenizerError && e.message.includes('llava_st_added_tokens.json') && e.message.includes('added_tokens.json'));
    writeFileSync(join(dir, 'added_tokens.json'), '{"<im_start>": 5}'); // 5 is BPE '&'
    rmSync(join(dir, 'llava_st_added_tokens.json'));
    await assert.rejects(Qwen2Tokenizer.fromDirectory(dir), (e: unknown) =>
      e instanceof TokenizerError && e.message.includes('id 5'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => tok.decode([1, 151960]), (e: unknown) => e instanceof TokenizerError && e.message.includes('ids[1] = 151960'));
  assert.throws(() => tok.decode([1.5]), TokenizerError);
  assert.throws(() => tok.requireId('<nope>'), (e: unknown) => e instanceof TokenizerError && e.message.includes('<nope>'));
});

// ---- properties -------------------------------------------------------------------------------

const ADDED = tok.addedTokens.map((t) => t.content);
const noAddedToken = (s: string): boolean => !ADDED.some((a) => s.includes(a) || s.normalize('NFC').includes(a));
// Pieces that stress the pre-tokenizer: contractions, digits, whitespace runs, CJK, emoji, marks.
const FRAGMENTS = ["'s", "'LL", "'ve", ' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\ufeff', '\u0085', '1', '42',
  'abc', 'Ünï', 'e\u0301', '你好', '🦙', '👩‍👩‍👧', '<', '>', '<TEMP', '-', '.', '[', ']', '{', '}', 'ក', '\u0338'];
const textArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 20 }).map((a) => a.join('')),
).filter(noAddedToken);

test('property: decode(encode(s)) == NFC(s), and encode never throws', () => {
  fc.assert(fc.property(textArb, (s) => {
    assert.equal(tok.decode(tok.encode(s)), s.normalize('NFC'));
  }), { numRuns: 400 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
    const ids = tok.encode(s); // any text, special substrings included
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.size));
  }), { numRuns: 300 });
  assert.ok(tok.encode('\uD800x<im_end>\uDFFF').includes(151647)); // lone surrogates: no throw
});
