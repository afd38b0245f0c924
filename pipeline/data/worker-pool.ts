// A small pool of worker threads for CPU-bound per-image work (decode + CLAHE, phantom rendering).
// Each worker file calls `serveJobs(handler)`; the pool sends jobs and gets results back in order of completion.
// With zero workers the handler runs inline, which tests and single-core machines use.

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { BadInputFileError } from '../../engine/errors.ts';

interface JobMessage<Job> { id: number; job: Job }
interface ReplyMessage<Result> { id: number; result?: Result; error?: { name: string; message: string; file?: string; reason?: string } }

/** Default worker count: one per core, at most 8. */
export function defaultWorkerCount(): number {
  return Math.min(8, availableParallelism());
}

/** Serialisable form of an error, so a BadInputFileError from a worker stays one on the main thread. */
function describeError(error: unknown): NonNullable<ReplyMessage<unknown>['error']> {
  if (error instanceof BadInputFileError) return { name: error.name, message: error.message, file: error.file, reason: error.reason };
  return { name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) };
}

function reviveError(described: NonNullable<ReplyMessage<unknown>['error']>): Error {
  if (described.name === 'BadInputFileError' && described.file !== undefined) return new BadInputFileError(described.file, described.reason ?? '');
  const error = new Error(described.message);
  error.name = described.name;
  return error;
}

/** Buffers inside a result are transferred, not copied. */
function transferablesOf(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array && value.buffer instanceof ArrayBuffer && value.byteLength === value.buffer.byteLength) return [value.buffer];
  if (value && typeof value === 'object') return Object.values(value).flatMap(transferablesOf);
  return [];
}

/** Worker side: answer each job with the handler's result. Call at the top level of a worker file. */
export function serveJobs<Job, Result>(handler: (job: Job) => Result | Promise<Result>): void {
  if (isMainThread || !parentPort) return;
  const port = parentPort;
  port.on('message', async (message: JobMessage<Job>) => {
    let reply: ReplyMessage<Result>;
    try {
      reply = { id: message.id, result: await handler(message.job) };
    } catch (error) {
      reply = { id: message.id, error: describeError(error) };
    }
    port.postMessage(reply, transferablesOf(reply.result));
  });
}

/**
 * Worker threads do not inherit tsx's module hooks, so a .ts worker starts from a small script that
 * registers tsx in the thread first; compiled .js workers start directly.
 */
function startWorker(workerUrl: URL): Worker {
  if (!workerUrl.pathname.endsWith('.ts')) return new Worker(workerUrl);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(workerUrl.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class WorkerPool<Job, Result> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ id: number; job: Job }> = [];
  private readonly pending = new Map<number, { resolve: (result: Result) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  /** size 0 runs `inline` on the calling thread instead of starting workers. */
  constructor(workerUrl: URL, size: number, private readonly inline: (job: Job) => Result | Promise<Result>) {
    for (let index = 0; index < size; index++) {
      const worker = startWorker(workerUrl);
      worker.on('message', (reply: ReplyMessage<Result>) => this.settle(worker, reply));
      worker.on('error', (error: Error) => this.failAll(error));
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(job: Job): Promise<Result> {
    if (this.workers.length === 0) {
      // setImmediate yields to timers and I/O between jobs, so progress output stays alive
      return new Promise<Result>((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(this.inline(job));
          } catch (error) {
            reject(error);
          }
        }),
      );
    }
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, job });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) this.idle.pop()!.postMessage(this.queue.shift()!);
  }

  private settle(worker: Worker, reply: ReplyMessage<Result>): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    this.idle.push(worker);
    this.dispatch();
    if (!waiting) return;
    if (reply.error) waiting.reject(reviveError(reply.error));
    else waiting.resolve(reply.result as Result);
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
