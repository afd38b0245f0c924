#!/usr/bin/env node
// Installed entry point: registers tsx's loader so the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../pipeline/cli.ts');
process.exitCode = await main(process.argv.slice(2));
