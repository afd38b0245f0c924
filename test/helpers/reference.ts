// Entry point for the float64 reference ops; the implementations live in ./reference/ by op family.

export * from './reference/index.ts';
