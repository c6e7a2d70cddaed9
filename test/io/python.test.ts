// io/python.ts: float() of a string and repr() of a float, as CPython 3 writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pyFloat, pyReprFloat } from '../../src/io/python.js';

test('pyReprFloat writes what CPython repr() writes (values printed by python3)', () => {
  const cases: [number, string][] = [
    [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [-2, '-2.0'], [0.5, '0.5'], [0.1, '0.1'], [0.409, '0.409'],
    [1e-4, '0.0001'], [1.5e-5, '1.5e-05'], [1e-5, '1e-05'], [123456789012345.6, '123456789012345.6'],
    [1e15, '1000000000000000.0'], [1e16, '1e+16'], [1.2345e16, '1.2345e+16'], [1e22, '1e+22'], [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [0.30000000000000004, '0.30000000000000004'],
    [-0.001, '-0.001'], [99, '99.0'], [2.5e-7, '2.5e-07'], [Infinity, 'inf'], [NaN, 'nan'],
  ];
  for (const [x, want] of cases) assert.equal(pyReprFloat(x), want, `repr(${x})`);
});

test('pyReprFloat round-trips every double and always marks it a float', () => {
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
    const s = pyReprFloat(x);
    assert.ok(Object.is(Number(s), x), `${s} parses back to ${Number(s)}, not ${x}`);
    assert.match(s, /[.e]/, s);
  }), { numRuns: 2000 });
});

test('pyFloat reads any Unicode decimal digits, as float() does', () => {
  assert.equal(pyFloat('0.409'), 0.409);
  assert.equal(pyFloat('١٢.٥'), 12.5);   // Arabic-Indic
  assert.equal(pyFloat('０.２５'), 0.25); // fullwidth
});
