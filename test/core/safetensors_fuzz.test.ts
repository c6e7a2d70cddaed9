// Fuzzing the header parser: every mutated file must end in a SafetensorsError or in a parse that
// satisfies all the format's invariants. Any other exception, or a hang, fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SafetensorsError } from '../../src/core/errors.js';
import {
  DTYPE_SIZE, SafetensorsFile, encodeSafetensors, type SafetensorsDType, type SafetensorsHeader,
} from '../../src/core/safetensors.js';

const DTYPES = Object.keys(DTYPE_SIZE) as SafetensorsDType[];
const enc = new TextEncoder();

/** A small valid file: 0-4 tensors with small shapes, optional metadata. */
const validFile = fc.record({
  tensors: fc.uniqueArray(
    fc.record({ name: fc.string({ minLength: 1, maxLength: 6 }), dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.nat(4), { maxLength: 3 }) }),
    { maxLength: 4, selector: (t) => t.name },
  ).filter((ts) => ts.every((t) => t.name !== '__metadata__')),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }), { nil: undefined }),
}).map(({ tensors, metadata }) => ({
  tensors: tensors.map((t) => ({ ...t, data: new Uint8Array(t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[t.dtype]).fill(7) })),
  metadata,
}));

/** Length prefix + header text + data, with the prefix optionally lying. */
function frame(header: string, dataLength: number, lengthField?: bigint): Uint8Array {
  const json = enc.encode(header);
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function headerText(bytes: Uint8Array): string {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
}

const weird = fc.oneof(
  fc.integer({ min: -5, max: 5 }), fc.constant(2 ** 53), fc.constant(2 ** 60), fc.double(), fc.string({ maxLength: 3 }),
  fc.constant(null), fc.constant([]), fc.constant({}), fc.boolean(), fc.constant(-0), fc.constant(1e308),
);

/** Rewrites one tensor entry (or the whole header) at the JSON level. */
type Edit = (h: Record<string, any>, name: string | undefined) => unknown;
const jsonEdit: fc.Arbitrary<Edit> = fc.oneof(
  weird.map((v): Edit => (h, n) => { if (n) h[n].data_offsets = [v, h[n].data_offsets[1]]; return h; }),
  weird.map((v): Edit => (h, n) => { if (n) h[n].data_offsets = [h[n].data_offsets[0], v]; return h; }),
  fc.integer({ min: -3, max: 3 }).map((d): Edit => (h, n) => { if (n) h[n].data_offsets = h[n].data_offsets.map((o: number) => o + d); return h; }),
  fc.array(weird, { maxLength: 3 }).map((v): Edit => (h, n) => { if (n) h[n].data_offsets = v; return h; }),
  fc.array(fc.oneof(fc.nat(3), fc.constant(2 ** 26), fc.constant(2 ** 30), fc.constant(2 ** 53 - 1), weird), { maxLength: 4 })
    .map((v): Edit => (h, n) => { if (n) h[n].shape = v; return h; }),
  fc.oneof(fc.constantFrom('F8', 'f32', 'Q4', 'BF8', 'U16', ''), weird).map((v): Edit => (h, n) => { if (n) h[n].dtype = v; return h; }),
  weird.map((v): Edit => (h, n) => { if (n) h[n].extra = v; return h; }),
  weird.map((v): Edit => (h, n) => { if (n) h[n] = v; else h.x = v; return h; }),
  fc.dictionary(fc.string({ maxLength: 3 }), weird, { maxKeys: 2 }).map((v): Edit => (h) => ({ ...h, __metadata__: v })),
  weird.map((v): Edit => () => v),
  fc.constant<Edit>((h, n) => { if (n) h[`${n}2`] = { ...h[n] }; return h; }), // overlapping twin
);

/** Text-level edits: duplicate keys survive JSON.stringify only this way. */
type TextEdit = (text: string) => string;
const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.constant<TextEdit>((t) => t.replace(/^\{("[^"]*":\{[^}]*\})/, '{$1,$1')), // whole entry twice
  fc.constant<TextEdit>((t) => t.replace(/"dtype":("[A-Z0-9]+")/, '"dtype":$1,"dtype":$1')),
  fc.constant<TextEdit>((t) => t.replace(/"__metadata__":\{("[^"]*":"[^"]*")/, '"__metadata__":{$1,$1')),
  fc.constant<TextEdit>((t) => t.replace(/^\{"([^"]+)"/, (_, k: string) => `{"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`)),
  fc.constant<TextEdit>((t) => '\uFEFF' + t),
  fc.constant<TextEdit>((t) => t + '   '),
  fc.constant<TextEdit>((t) => '['.repeat(5000) + ']'.repeat(5000) + t),
);

function checkInvariants(h: SafetensorsHeader, size: number): void {
  assert.equal(h.dataStart, 8 + h.headerLength);
  assert.equal(h.dataLength, size - h.dataStart);
  let pos = h.dataStart;
  for (const e of h.entries.values()) { // entries come in data order
    assert.ok(e.dtype in DTYPE_SIZE);
    assert.ok(e.shape.every((d) => Number.isSafeInteger(d) && d >= 0));
    assert.equal(e.byteLength, e.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[e.dtype]);
    assert.equal(e.offset, pos, `${e.name} starts where the previous tensor ends`);
    pos += e.byteLength;
  }
  assert.equal(pos, size, 'tensors tile the data section');
  for (const v of Object.values(h.metadata)) assert.equal(typeof v, 'string');
}

/** The property's core: parse, and classify the outcome. */
function parseOrError(bytes: Uint8Array): SafetensorsHeader | SafetensorsError {
  try {
    const h = SafetensorsFile.parseHeader(bytes, bytes.length, 'fuzz.safetensors');
    checkInvariants(h, bytes.length);
    return h;
  } catch (e) {
    if (e instanceof SafetensorsError) {
      assert.equal(e.file, 'fuzz.safetensors');
      return e;
    }
    throw e;
  }
}

const mutatedFile: fc.Arbitrary<Uint8Array> = fc.oneof(
  validFile.map((f) => encodeSafetensors(f.tensors, f.metadata)),
  fc.tuple(validFile, fc.nat()).map(([f, cut]) => { const b = encodeSafetensors(f.tensors, f.metadata); return b.subarray(0, cut % (b.length + 1)); }),
  fc.tuple(validFile, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([f, n]) => {
    const b = encodeSafetensors(f.tensors, f.metadata);
    new DataView(b.buffer).setBigUint64(0, n % 4n === 0n ? n : n % BigInt(b.length + 4), true);
    return b;
  }),
  fc.tuple(validFile, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 })).map(([f, hits]) => {
    const b = encodeSafetensors(f.tensors, f.metadata);
    const n = headerText(b).length;
    for (const [at, v] of hits) b[8 + (at % Math.max(1, n))] = v;
    return b;
  }),
  fc.tuple(validFile, jsonEdit, fc.nat()).map(([f, edit, pick]) => {
    const b = encodeSafetensors(f.tensors, f.metadata);
    const h = JSON.parse(headerText(b)) as Record<string, any>;
    const names = f.tensors.map((t) => t.name);
    const dataLength = b.length - 8 - headerText(b).length;
    return frame(JSON.stringify(edit(h, names[pick % Math.max(1, names.length)])) ?? 'undefined', dataLength);
  }),
  fc.tuple(validFile, textEdit).map(([f, edit]) => {
    const b = encodeSafetensors(f.tensors, f.metadata);
    const text = headerText(b).trimEnd();
    return frame(edit(text), b.length - 8 - headerText(b).length);
  }),
  fc.tuple(validFile, fc.nat(), fc.integer({ min: -3, max: 8 })).map(([f, pick, k]) => {
    // Shift one tensor and all after it by k, growing the data section to match: a pure gap
    // (k > 0) or overlap (k < 0) that every other check would let through.
    const b = encodeSafetensors(f.tensors, f.metadata);
    const h = JSON.parse(headerText(b)) as Record<string, any>;
    const from = f.tensors.length === 0 ? 0 : h[f.tensors[pick % f.tensors.length]!.name].data_offsets[0];
    for (const t of f.tensors) {
      const [begin, end] = h[t.name].data_offsets as [number, number];
      if (begin >= from) h[t.name].data_offsets = [begin + k, end + k];
    }
    return frame(JSON.stringify(h), Math.max(0, b.length - 8 - headerText(b).length + k));
  }),
  fc.tuple(validFile, fc.integer({ min: 1, max: 9 })).map(([f, extra]) => { // trailing bytes: a gap at the end
    const b = encodeSafetensors(f.tensors, f.metadata);
    const out = new Uint8Array(b.length + extra);
    out.set(b);
    return out;
  }),
  fc.uint8Array({ maxLength: 64 }),
);

test('mutated headers end in SafetensorsError or a parse that keeps every invariant', { timeout: 60_000 }, () => {
  let valid = 0;
  let errors = 0;
  fc.assert(fc.property(mutatedFile, (bytes) => {
    if (parseOrError(bytes) instanceof SafetensorsError) errors++; else valid++;
  }), { numRuns: 5000 });
  // Both outcomes must occur often, or the generator has stopped exercising one side.
  assert.ok(valid > 500 && errors > 1500, `valid ${valid}, errors ${errors}`);
  console.log(`fuzz: ${valid} valid, ${errors} rejected`);
});

test('targeted corruptions are each rejected', () => {
  const ok = (h: string, data = 4) => frame(h, data);
  const bad: [string, Uint8Array, RegExp][] = [
    ['duplicate tensor', ok('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}'), /duplicate key "a"/],
    ['escaped duplicate', ok('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"\\u0061":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}'), /duplicate key "a"/],
    ['duplicate field', ok('{"a":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}}'), /\[a\].*duplicate key "dtype"/],
    ['overflowing shape', ok('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}'), /passes 2\^53/],
    ['negative offset', ok('{"a":{"dtype":"U8","shape":[4],"data_offsets":[-1,3]}}'), /data_offsets/],
    ['offset past end', ok('{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'), /not inside the data section/],
    ['gap', ok('{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}'), /gap of 2/],
    ['overlap', ok('{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}'), /overlaps tensor "a"/],
    ['unknown dtype', ok('{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}'), /\[a\]: unknown dtype "F8_E4M3"/],
    ['non-object', ok('[1,2]'), /not an object/],
    ['non-string metadata', ok('{"__metadata__":{"k":1},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}'), /__metadata__ value of "k" is not a string/],
    ['header length past end', frame('{}', 0, 3n), /runs past the end/],
    ['header length over cap', frame('{}', 0, 1n << 40n), /exceeds the 100000000-byte cap/],
    ['invalid utf-8', (() => { const b = ok('{"\u00e9":1}', 0); b[10] = 0xff; return b; })(), /not valid UTF-8/],
    ['byte-size mismatch', ok('{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,4]}}'), /needs 8/],
  ];
  for (const [what, bytes, re] of bad) {
    assert.throws(() => SafetensorsFile.parseHeader(bytes, bytes.length, 'f'), (e: unknown) => e instanceof SafetensorsError && re.test(e.message), what);
  }
});

test('mutated files written to disk open to a valid file or a SafetensorsError', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'st-fuzz-'));
  try {
    let i = 0;
    await fc.assert(fc.asyncProperty(mutatedFile, async (bytes) => {
      const path = join(dir, `f${i++}.safetensors`);
      await writeFile(path, bytes);
      let f: SafetensorsFile;
      try {
        f = await SafetensorsFile.open(path);
      } catch (e) {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.equal(e.file, path);
        return;
      }
      try {
        for (const e of f.entries.values()) { // the bytes read back are exactly the tensor's slice
          assert.deepEqual(await f.readAll(e.name), bytes.subarray(e.offset, e.offset + e.byteLength));
        }
      } finally {
        await f.close();
      }
    }), { numRuns: 300 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
