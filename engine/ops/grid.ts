// Workgroup counts for element-wise kernels: one thread per element, 256 per workgroup, spread over
// x and y because a dimension holds at most 65535 workgroups. Shaders rebuild the linear index as
// `id.x + id.y * num_workgroups.x * 256u`.

export const ELEMENTWISE_WORKGROUP = 256;
/** WebGPU's default limit on workgroups per grid dimension. */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

export function linearGrid(count: number, perWorkgroup = ELEMENTWISE_WORKGROUP): [number, number] {
  const groups = Math.ceil(count / perWorkgroup);
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION);
  return [Math.ceil(groups / y), y];
}

/**
 * Threads per workgroup for `threads` threads of work: whole subgroups of `subgroupLanes`, at most
 * `most`; the largest size that leaves at most an eighth of the dispatched lanes idle, else the one
 * that leaves fewest.
 */
export function workgroupSizeFor(threads: number, most: number, subgroupLanes: number): number {
  const idle = (size: number) => Math.ceil(threads / size) * size - threads;
  let fewest = most;
  for (let size = most; size >= subgroupLanes; size -= subgroupLanes) {
    if (idle(size) * 8 <= Math.ceil(threads / size) * size) return size;
    if (idle(size) < idle(fewest)) fewest = size;
  }
  return fewest;
}
