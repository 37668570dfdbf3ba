#!/usr/bin/env node
// `npm run recalibrate -- ...`: the recalibration CLI (cli/recalibrate.ts), compiled on demand by
// the Node build. Its usage is at the top of cli/recalibrate.ts and printed on a bad argument.
import { requireBuilt } from './node-build.mjs';

const { main } = requireBuilt('@chestaid/cli');
process.exitCode = await main(process.argv.slice(2), {
  out: text => process.stdout.write(`${text}\n`),
  err: text => process.stderr.write(`${text}\n`),
});
