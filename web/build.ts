// Bundles the browser entry points with esbuild: every shaders/*.wgsl inlined as text through the
// virtual module `xraygen:shaders`, and any Node-only import in the browser path a build error.
// `npm run build:web` writes web/dist/ for static hosting; the dev server builds in memory.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { Command } from 'commander';

export const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));
const shadersDir = fileURLToPath(new URL('../shaders/', import.meta.url));

/** The page and the embeddable library, by output name. */
export const webEntryPoints: Record<string, string> = {
  main: fileURLToPath(new URL('./main.ts', import.meta.url)),
  xraygen: fileURLToPath(new URL('./xraygen.ts', import.meta.url)),
};

/** `import shaderSources from 'xraygen:shaders'` -> { name: WGSL text } of every shader file. */
const shadersPlugin: Plugin = {
  name: 'xraygen-shaders',
  setup(builder) {
    builder.onResolve({ filter: /^xraygen:shaders$/ }, () => ({ path: 'shaders', namespace: 'xraygen-shaders' }));
    builder.onLoad({ filter: /.*/, namespace: 'xraygen-shaders' }, () => {
      const files = readdirSync(shadersDir).filter((name) => name.endsWith('.wgsl')).sort();
      const sources = Object.fromEntries(files.map((name) => [name.slice(0, -'.wgsl'.length), readFileSync(shadersDir + name, 'utf8')]));
      return { contents: `export default ${JSON.stringify(sources)};`, loader: 'js', watchFiles: files.map((name) => shadersDir + name) };
    });
  },
};

/** Node built-ins have no place in a page: fail the build naming the importer. */
const noNodePlugin: Plugin = {
  name: 'xraygen-no-node',
  setup(builder) {
    builder.onResolve({ filter: /^(node:|fs$|path$|os$|crypto$|url$|worker_threads$|child_process$)/ }, (args) => ({
      errors: [{ text: `Node-only import '${args.path}' in the browser bundle (from ${args.importer})` }],
    }));
  },
};

export interface BundleOptions {
  entryPoints?: Record<string, string>;
  /** Write into this folder; otherwise the files are only returned. */
  outdir?: string;
  minify?: boolean;
}

/** Builds ES modules (with shared chunks); returns each output file by its name relative to outdir. */
export async function bundleForBrowser(options: BundleOptions = {}): Promise<Map<string, Uint8Array>> {
  const outdir = options.outdir ?? fileURLToPath(new URL('./dist/', import.meta.url));
  const result = await build({
    entryPoints: options.entryPoints ?? webEntryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    sourcemap: false,
    write: options.outdir !== undefined,
    logLevel: 'silent',
    plugins: [shadersPlugin, noNodePlugin],
  });
  const outputs = new Map<string, Uint8Array>();
  for (const file of result.outputFiles ?? []) outputs.set(file.path.slice(outdir.length).replace(/^\/+/, ''), file.contents);
  return outputs;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outdir } = new Command('npm run build:web --')
    .option('--outdir <dir>', 'where the bundle goes', fileURLToPath(new URL('./dist/', import.meta.url)))
    .parse()
    .opts<{ outdir: string }>();
  await bundleForBrowser({ outdir, minify: true });
  console.log(`web bundle written to ${outdir}`);
}
