// The one place WGSL text is loaded from: `shaders/<name>.wgsl` on disk in Node, or sources a
// browser bundle registered up front (the bundler inlines the same files as text).

const registered = new Map<string, string>();

export function registerShaderSources(sources: Record<string, string>): void {
  for (const [name, text] of Object.entries(sources)) registered.set(name, text);
}

/**
 * The WGSL of shaders/<name>.wgsl, with each line `// #include OTHER` replaced by shaders/OTHER.wgsl
 * (WGSL has no includes; the gathers' output epilogue and the reductions' row cursor are shared this way).
 */
export function shaderSource(name: string): string {
  return rawSource(name).replace(INCLUDE, (_, included: string) => shaderSource(included));
}

const INCLUDE = /^\/\/ #include (\w+)$/gm;

function rawSource(name: string): string {
  const known = registered.get(name);
  if (known !== undefined) return known;
  const fs = typeof process !== 'undefined' ? (process.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined) : undefined;
  if (!fs) throw new Error(`shader ${name}.wgsl was not bundled (call registerShaderSources)`);
  const text = fs.readFileSync(new URL(`../shaders/${name}.wgsl`, import.meta.url), 'utf8');
  registered.set(name, text);
  return text;
}
