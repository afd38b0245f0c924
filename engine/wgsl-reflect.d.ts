// The package's "main" is a CommonJS build that Node's ESM loader cannot name-import; its ESM build
// has no typings of its own, so it borrows the package's.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
