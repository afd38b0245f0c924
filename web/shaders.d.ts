// The virtual module web/build.ts generates: every shaders/*.wgsl by name, as text.
declare module 'xraygen:shaders' {
  const sources: Record<string, string>;
  export default sources;
}
