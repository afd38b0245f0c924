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
