// Caption scores on hand-checkable cases (the metrics fixtures do not cover them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleu, ciderD, ptbTokenize, rougeL, scoreCaptions } from '../../src/tasks/caption_metrics.js';

test('PTB-style tokenisation: lower case, clitics split, punctuation dropped', () => {
  assert.equal(ptbTokenize('An adult, smiling, hugs a child.'), 'an adult smiling hugs a child');
  assert.equal(ptbTokenize("The dog's ball isn't (red)!"), "the dog 's ball is n't -lrb- red -rrb-");
});

test('BLEU: identical corpus scores 1; a hand-computed case', () => {
  const g = { 0: ['the cat sat on the mat'] };
  bleu(g, { 0: ['the cat sat on the mat'] }).forEach((v) => assert.ok(Math.abs(v - 1) < 1e-9));
  // hyp "the the the" vs ref "the cat": clipped unigram precision 1/3; hyp longer, no penalty
  const b = bleu({ 0: ['the cat'] }, { 0: ['the the the'] }, 1);
  assert.ok(Math.abs(b[0]! - 1 / 3) < 1e-9);
  // brevity penalty: hyp "the" vs ref "the cat": exp(1 - 2/1)
  assert.ok(Math.abs(bleu({ 0: ['the cat'] }, { 0: ['the'] }, 1)[0]! - Math.exp(-1)) < 1e-9);
});

test('ROUGE-L: LCS F-measure with beta 1.2', () => {
  // LCS("a b c d", "a c d e") = 3; P = R = 3/4 -> F = 3/4
  assert.ok(Math.abs(rougeL({ 0: ['a b c d'] }, { 0: ['a c d e'] }) - 0.75) < 1e-12);
  assert.equal(rougeL({ 0: ['a b'] }, { 0: ['c d'] }), 0);
});

test('CIDEr-D: identical beats different; one item has idf 0', () => {
  const g = { 0: ['a man walks away'], 1: ['a dog jumps over a fence'] };
  const same = ciderD(g, { 0: ['a man walks away'], 1: ['a dog jumps over a fence'] });
  const diff = ciderD(g, { 0: ['a dog jumps'], 1: ['a man walks'] });
  assert.ok(same > diff, `${same} > ${diff}`);
  // n-grams unique to one item: idf log(2); the cosine of identical vectors is 1 per n, x10
  // 'a' occurs in both items: idf 0 -> unigram vector drops it but cosine stays 1
  assert.ok(Math.abs(same - 10) < 1e-9, String(same));
  assert.equal(ciderD({ 0: ['x y'] }, { 0: ['x y'] }), 0); // log(1 item) = 0
});

test('scoreCaptions rounds to 3 decimals like the reference', () => {
  const s = scoreCaptions({ 0: [{ caption: 'a man walks away.' }], 1: [{ caption: 'a dog runs.' }] }, { 0: [{ caption: ' walks away' }], 1: [{ caption: ' a dog runs' }] });
  assert.deepEqual(Object.keys(s), ['Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4', 'ROUGE_L', 'CIDEr']);
  for (const v of Object.values(s)) assert.equal(v, Number(v.toFixed(3)));
});
