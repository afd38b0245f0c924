// In Node, the `webgpu` package (dawn.node) keeps the JavaScript thread polling Dawn for events while
// any GPU promise is pending (onSubmittedWorkDone, mapAsync): measured on the 2-core lavapipe machine,
// the main thread used 270-580 ms of CPU during a 560-830 ms wait for one conv kernel. On a GPU that is
// a core the GPU does not need. On a software adapter (lavapipe) the shaders run on the same cores, so
// the polling takes a share of them: the D2 forward took 153-343 ms (9 calls) with the main thread at
// normal priority and 91-98 ms once it ran at the lowest (bench/RESULTS.md).
//
// So, with a software adapter in Node on Linux, the engine lowers the JavaScript thread's scheduling
// priority to the minimum once the device exists. Linux's setpriority(2) changes only the calling
// thread; the adapter's worker threads were created before and keep theirs, so the scheduler gives them
// the cores whenever both want one, and the polling only uses what is idle. Encoding, which happens while
// the shader threads wait, is unaffected. EngineOptions.keepThreadPriority turns this off.

const LOWEST_PRIORITY = 19;

/** Lowers the calling thread's priority to the lowest; returns whether it did. */
export async function lowerJsThreadPriority(): Promise<boolean> {
  if (typeof process === 'undefined' || process.platform !== 'linux' || !process.versions?.node) return false;
  // A variable module name, so that browser bundlers leave it alone.
  const moduleName = 'node:os';
  const os = (await import(/* @vite-ignore */ moduleName)) as typeof import('node:os');
  try {
    if (os.getPriority() < LOWEST_PRIORITY) os.setPriority(LOWEST_PRIORITY);
    return true;
  } catch {
    return false;
  }
}
