// Host-visible staging buffers for uploads and readbacks, reused instead of created per call.
// Upload buffers come back mapped: after the submit that copied out of one, mapAsync(WRITE) runs in
// the background and the buffer rejoins the free list when it resolves (until then a new one is made).
// Readback buffers rejoin the list as soon as they are unmapped. Sizes are rounded up to powers of
// two so that a steady workload finds its buffers again; at most MAX_FREE_BYTES stay parked.

const MIN_SIZE = 256;
const MAX_FREE_BYTES = 64 * 2 ** 20;

function sizeClass(bytes: number): number {
  return Math.max(MIN_SIZE, 2 ** Math.ceil(Math.log2(bytes)));
}

class FreeList {
  private readonly buffers = new Map<number, GPUBuffer[]>();
  private bytes = 0;

  take(size: number): GPUBuffer | undefined {
    const buffer = this.buffers.get(size)?.pop();
    if (buffer) this.bytes -= size;
    return buffer;
  }

  /** Parks the buffer for reuse, or destroys it when the list is full. */
  give(buffer: GPUBuffer): void {
    if (this.bytes + buffer.size > MAX_FREE_BYTES) {
      buffer.destroy();
      return;
    }
    const list = this.buffers.get(buffer.size) ?? [];
    list.push(buffer);
    this.buffers.set(buffer.size, list);
    this.bytes += buffer.size;
  }

  destroy(): void {
    for (const list of this.buffers.values()) for (const buffer of list) buffer.destroy();
    this.buffers.clear();
    this.bytes = 0;
  }
}

export class StagingBuffers {
  private readonly uploads = new FreeList();
  private readonly readbacks = new FreeList();
  /** Upload buffers waiting for their mapAsync: destroyed with the rest, so none outlives the engine. */
  private readonly mapping = new Set<GPUBuffer>();
  private destroyed = false;
  /** Buffers created, for tests: a steady workload stops creating them. */
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A mapped COPY_SRC buffer of at least `bytes`; pass it to `uploadDone` after the submit that reads it. */
  takeUpload(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const reused = this.uploads.take(size);
    if (reused) return reused;
    this.created++;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'upload staging' });
  }

  /** Maps the buffer again in the background and parks it once mapped. */
  uploadDone(buffer: GPUBuffer): void {
    this.mapping.add(buffer);
    buffer.mapAsync(GPUMapMode.WRITE).then(
      () => (this.destroyed ? buffer.destroy() : this.uploads.give(buffer)),
      () => buffer.destroy(),
    ).finally(() => this.mapping.delete(buffer));
  }

  /** An unmapped MAP_READ | COPY_DST buffer of at least `bytes`; give it back with `readbackDone` once unmapped. */
  takeReadback(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const reused = this.readbacks.take(size);
    if (reused) return reused;
    this.created++;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback staging' });
  }

  readbackDone(buffer: GPUBuffer): void {
    if (this.destroyed || buffer.mapState !== 'unmapped') buffer.destroy();
    else this.readbacks.give(buffer);
  }

  destroy(): void {
    this.destroyed = true;
    this.uploads.destroy();
    this.readbacks.destroy();
    for (const buffer of this.mapping) buffer.destroy();
  }
}
