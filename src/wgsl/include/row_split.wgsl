// Row kernels with LANES invocations a row and WG / LANES rows a workgroup (ops/row_split.ts):
//   CHUNKED true:  each lane a contiguous chunk of the row (CPU adapters: a thread streams a run);
//           false: lane l takes units l, l + LANES, ... (GPUs: consecutive lanes, consecutive addresses).
//   LANES = 1: one invocation a row, no workgroup memory, no barrier.
// The including kernel declares `override WG`, `override LANES` (powers of two, LANES <= WG <= 256)
// and `override CHUNKED: bool`, and calls row_reduce from uniform control flow in every invocation
// (an invocation past the last row takes part rather than returning).

#include grid

// The units [start, end) in steps of stride that this invocation covers of its row. An invocation
// past the last row reads the last row again and must not write (valid false): its loops keep the
// same bounds as its neighbours', so a CPU adapter runs them as one vector loop without masks.
struct RowSlice { row: u32, start: u32, end: u32, stride: u32, valid: bool }

fn row_slice(g: Grid, rows: u32, units: u32) -> RowSlice {
  let row = flat_wg(g) * (WG / LANES) + g.lid / LANES;
  let lane = g.lid % LANES;
  let valid = row < rows;
  let r = min(row, rows - 1u);
  if (CHUNKED) {
    let per = (units + LANES - 1u) / LANES;
    let start = min(lane * per, units);
    return RowSlice(r, start, min(start + per, units), 1u, valid);
  }
  return RowSlice(r, lane, units, LANES, valid);
}

// Where this slice's steps of two units (at j and j + stride) end; the odd unit, if any, follows.
// Two units a step halve the loop overhead, which lavapipe pays per step for its lane masks
// (softmax 16384×1024 f16 ~10%, RMSNorm 2600×3584 f16 ~15%; LayerNorm's two running sums were
// slower so, and it steps one). A coalesced lane may start past the end of a short row.
fn pairs_end(r: RowSlice) -> u32 {
  return r.start + (max(r.end, r.start) - r.start) / (2u * r.stride) * (2u * r.stride);
}

var<workgroup> row_part: array<f32, 256>;

// The sum (or, with is_max, the max) of v over the LANES lanes of this invocation's row, in every
// lane: a tree in workgroup memory, log2(LANES) + 2 barriers.
fn row_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  if (LANES == 1u) { return v; }
  row_part[lid] = v;
  workgroupBarrier();
  let lane = lid % LANES;
  for (var s = LANES / 2u; s > 0u; s = s / 2u) {
    if (lane < s) {
      let a = row_part[lid];
      let b = row_part[lid + s];
      row_part[lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let total = row_part[lid - lane];
  workgroupBarrier(); // every lane has read before the next reduction writes
  return total;
}
