// GPU timestamps for the profiler: a begin/end query pair per dispatch (each in its own compute
// pass, since WebGPU times passes), resolved into GPU buffers at every submit and read back with
// one copy per query set and a single mapAsync per step — never a readback per kernel.

/** WebGPU's limit on the queries of one query set. */
const QUERIES_PER_SET = 4096;
/** resolveQuerySet writes at 256-byte aligned offsets: 32 queries of 8 bytes. */
const RESOLVE_ALIGNMENT = 32;
const BYTES_PER_QUERY = 8;
const QUANTUM_MASK = 0xffffn;

interface QueryChunk {
  querySet: GPUQuerySet;
  resolveBuffer: GPUBuffer;
  /** Queries handed out since the last read (aligned up after each resolve). */
  used: number;
  /** Queries already resolved into resolveBuffer. */
  resolved: number;
}

export interface TimestampPair {
  /** Index of the pair among those reserved since the last read. */
  id: number;
  writes: GPUComputePassTimestampWrites;
}

export class TimestampPool {
  private readonly chunks: QueryChunk[] = [];
  private current = 0;
  /** Global query index of each reserved pair's begin query. */
  private pairs: number[] = [];
  readCount = 0;
  /**
   * Whether the last read looked quantized: Dawn rounds timestamps down to 2^16 ns unless its
   * `timestamp_quantization` toggle is off, so short kernels then read 0 or 65.5 us.
   */
  quantized = false;

  constructor(private readonly device: GPUDevice) {}

  reserve(): TimestampPair {
    let chunk = this.chunks[this.current];
    if (chunk && chunk.used + 2 > QUERIES_PER_SET) chunk = this.chunks[++this.current];
    chunk ??= this.addChunk();
    const index = chunk.used;
    chunk.used += 2;
    this.pairs.push(this.current * QUERIES_PER_SET + index);
    return { id: this.pairs.length - 1, writes: { querySet: chunk.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } };
  }

  /** Appends the resolve of every query reserved since the last call; called just before a submit. */
  resolve(encoder: GPUCommandEncoder): void {
    for (const chunk of this.chunks) {
      if (chunk.used === chunk.resolved) continue;
      encoder.resolveQuerySet(chunk.querySet, chunk.resolved, chunk.used - chunk.resolved, chunk.resolveBuffer, chunk.resolved * BYTES_PER_QUERY);
      chunk.used = Math.min(QUERIES_PER_SET, Math.ceil(chunk.used / RESOLVE_ALIGNMENT) * RESOLVE_ALIGNMENT);
      chunk.resolved = chunk.used;
    }
  }

  /**
   * Reads every pair reserved since the last read (all must be resolved and submitted) with one
   * mapAsync: [begin, end] of pair i at [2i, 2i+1], in ns from the earliest timestamp read.
   */
  async read(): Promise<Float64Array> {
    const used = this.chunks.filter((chunk) => chunk.resolved > 0);
    const times = new Float64Array(this.pairs.length * 2);
    if (used.length === 0) return times;
    const size = used.reduce((total, chunk) => total + chunk.resolved * BYTES_PER_QUERY, 0);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profiler timestamps' });
    const encoder = this.device.createCommandEncoder({ label: 'profiler timestamps' });
    let offset = 0;
    for (const chunk of used) {
      encoder.copyBufferToBuffer(chunk.resolveBuffer, 0, staging, offset, chunk.resolved * BYTES_PER_QUERY);
      offset += chunk.resolved * BYTES_PER_QUERY;
    }
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
      this.readCount++;
      const raw = new BigUint64Array(staging.getMappedRange().slice(0));
      // Chunks are copied in order, and every used chunk but the last is full up to its resolved mark.
      const chunkStart = new Map<number, number>();
      let position = 0;
      this.chunks.forEach((chunk, index) => {
        if (chunk.resolved === 0) return;
        chunkStart.set(index, position);
        position += chunk.resolved;
      });
      const rawIndex = (query: number) => chunkStart.get(Math.floor(query / QUERIES_PER_SET))! + (query % QUERIES_PER_SET);
      let base = -1n;
      let lowBits = 0n;
      for (const query of this.pairs) {
        const begin = raw[rawIndex(query)];
        if (base < 0n || begin < base) base = begin;
        lowBits |= (begin | raw[rawIndex(query + 1)]) & QUANTUM_MASK;
      }
      this.quantized = this.pairs.length > 0 && lowBits === 0n;
      this.pairs.forEach((query, pair) => {
        // Differences first, in BigInt: absolute GPU clocks can exceed a double's exact range.
        times[2 * pair] = Number(raw[rawIndex(query)] - base);
        times[2 * pair + 1] = Number(raw[rawIndex(query + 1)] - base);
      });
      staging.unmap();
    } finally {
      staging.destroy();
    }
    this.reset();
    return times;
  }

  private reset(): void {
    for (const chunk of this.chunks) {
      chunk.used = 0;
      chunk.resolved = 0;
    }
    this.current = 0;
    this.pairs = [];
  }

  private addChunk(): QueryChunk {
    const chunk: QueryChunk = {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: 'profiler timestamps' }),
      resolveBuffer: this.device.createBuffer({ size: QUERIES_PER_SET * BYTES_PER_QUERY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'profiler timestamps' }),
      used: 0,
      resolved: 0,
    };
    this.chunks.push(chunk);
    return chunk;
  }

  destroy(): void {
    for (const chunk of this.chunks) {
      chunk.querySet.destroy();
      chunk.resolveBuffer.destroy();
    }
    this.chunks.length = 0;
  }
}
