#!/usr/bin/env node
// The headless triage worker (@chestaid/worker, worker/src/cli.ts): compiles the Node build when a source changed
// (scripts/node-build.mjs), then runs it. `npm run worker -- --help` lists the options.
import process from 'node:process';

import { requireBuilt } from './node-build.mjs';

await requireBuilt('@chestaid/worker').main(process.argv.slice(2));
