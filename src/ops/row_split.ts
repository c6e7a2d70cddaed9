// How the row kernels (norm.wgsl, softmax.wgsl) spread rows over invocations; the WGSL side is
// wgsl/include/row_split.wgsl. The policy (ops/policy.ts) picks one per device and row width.
//   lanes = 1:             one invocation a row, wg rows a workgroup: no barriers (CPU adapters)
//   lanes > 1, chunked:    each of the row's lanes a contiguous chunk, tree reductions
//   lanes > 1, coalesced:  lane l takes units l, l + lanes, ...: consecutive lanes read consecutive
//                          addresses (GPUs), tree reductions

export interface RowSplit { wg: number; lanes: number; chunked: boolean }

/** The override constants of a RowSplit. */
export const rowSplitConstants = (p: RowSplit): Record<string, number> => ({ WG: p.wg, LANES: p.lanes, CHUNKED: p.chunked ? 1 : 0 });

/** Workgroups for `rows` rows. */
export const rowSplitWorkgroups = (rows: number, p: RowSplit): number => Math.ceil(rows / (p.wg / p.lanes));

/** The splits worth a candidate on some adapter, named for the policy's tables:
 *  row.wg{rows a workgroup}, chunk.wg{lanes}, coal.wg{lanes}. */
export const ROW_SPLITS: readonly { name: string; params: RowSplit }[] = [
  { name: 'row.wg8', params: { wg: 8, lanes: 1, chunked: true } },
  { name: 'row.wg64', params: { wg: 64, lanes: 1, chunked: true } },
  { name: 'chunk.wg16', params: { wg: 16, lanes: 16, chunked: true } },
  { name: 'coal.wg64', params: { wg: 64, lanes: 64, chunked: false } },
  { name: 'coal.wg256', params: { wg: 256, lanes: 256, chunked: false } },
];
