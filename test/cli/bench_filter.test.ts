// `bench kernels --filter`: a case runs when its name contains any of the comma-separated strings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kernelCases } from '../../src/cli/bench.js';

test('bench kernels --filter: any of the comma-separated strings; none: every case', async () => {
  const all = (await kernelCases()).map((c) => c.name);
  const one = (await kernelCases('rows.traffic')).map((c) => c.name);
  assert.deepEqual(one, ['rows.traffic_softmax', 'rows.traffic_rmsnorm', 'rows.traffic_layernorm']);
  const two = (await kernelCases('rows.traffic,layernorm.f16')).map((c) => c.name);
  assert.deepEqual(two, all.filter((n) => n.startsWith('rows.traffic') || n.includes('layernorm.f16')));
  assert.ok(two.length === one.length + 1, two.join(' '));
  assert.deepEqual((await kernelCases('')).map((c) => c.name), all);
});
