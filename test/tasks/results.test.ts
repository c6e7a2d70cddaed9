// results.jsonl: broken lines name their line number; resume never double-counts an id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { parseResults, readResults, ResultsWriter } from '../../src/tasks/results.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'results-')), 'results.jsonl');

test('a broken line is an InputError naming file and line', () => {
  const text = '{"id":"a"}\n\n{"id":"b"\n{"id":"c"}\n';
  assert.throws(() => parseResults(text, 'r.jsonl'), (e: unknown) => e instanceof InputError && /^r\.jsonl:3: not valid JSON/.test(e.message));
  assert.throws(() => parseResults('{"id":"a"}\n[1]\n', 'r.jsonl'), /r\.jsonl:2: expected a JSON object/);
  assert.throws(() => parseResults('{"x":1}\n', 'r.jsonl'), /r\.jsonl:1: field 'id'/);
  // a broken LAST line is an error too unless the caller tolerates a truncated tail
  assert.throws(() => parseResults('{"id":"a"}\n{"id":"b', 'r.jsonl'), /r\.jsonl:2:/);
  assert.deepEqual(parseResults('{"id":"a"}\n{"id":"b', 'r.jsonl', { tolerateTruncatedTail: true }).truncatedTail, { line: 2, byteOffset: 11 });
});

test('duplicate ids are scored once, the last line winning, and reported', () => {
  const r = parseResults('{"id":"a","v":1}\n{"id":"b"}\n{"id":"a","v":2}\n', 'r');
  assert.deepEqual(r.lines, [{ id: 'a', v: 2 }, { id: 'b' }]);
  assert.deepEqual(r.duplicates, [{ id: 'a', lines: [1, 3] }]);
});

test('resume: cut a half-written line, skip done ids, never write an id twice', () => {
  const path = tmp();
  const w = ResultsWriter.open(path);
  assert.equal(w.append({ id: 'x1', answer_text: 'A' }), true);
  assert.equal(w.append({ id: 'x2', answer_text: 'B' }), true);
  appendFileSync(path, '{"id":"x3","answ'); // crash mid-write
  const w2 = ResultsWriter.open(path, { resume: true });
  assert.deepEqual(w2.pending([{ id: 'x1' }, { id: 'x2' }, { id: 'x3' }]).map((i) => i.id), ['x3']);
  assert.equal(w2.append({ id: 'x1', answer_text: 'again' }), false);
  assert.equal(w2.append({ id: 'x3', answer_text: 'C' }), true);
  assert.deepEqual(readResults(path).lines.map((l) => l.id), ['x1', 'x2', 'x3']);
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 3);
  // a complete last line without its newline is kept and terminated
  writeFileSync(path, '{"id":"y1"}');
  const w3 = ResultsWriter.open(path, { resume: true });
  w3.append({ id: 'y2' });
  assert.deepEqual(readResults(path).lines.map((l) => l.id), ['y1', 'y2']);
  // without resume the file starts over
  ResultsWriter.open(path).append({ id: 'z' });
  assert.deepEqual(readResults(path).lines.map((l) => l.id), ['z']);
});
