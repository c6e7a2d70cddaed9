// from_lane(v, c): lane c's v, for every lane of the subgroup (subgroupBroadcast). WGSL wants a
// constant lane, so callers pass c from a loop with a constant trip count: it is unrolled and the
// switch folds away. Covers lanes 0..7. Needs `enable subgroups` and the alias XV (include/linear_io).

fn from_lane(v: XV, c: u32) -> XV {
  switch c {
    case 0u: { return subgroupBroadcast(v, 0u); }
    case 1u: { return subgroupBroadcast(v, 1u); }
    case 2u: { return subgroupBroadcast(v, 2u); }
    case 3u: { return subgroupBroadcast(v, 3u); }
    case 4u: { return subgroupBroadcast(v, 4u); }
    case 5u: { return subgroupBroadcast(v, 5u); }
    case 6u: { return subgroupBroadcast(v, 6u); }
    default: { return subgroupBroadcast(v, 7u); }
  }
}
