#!/usr/bin/env node
// `npx exbehrt ...`: runs the TypeScript CLI through tsx, so the CLI uses the same source modules
// as the worker and the tests.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/exbehrt.ts');
