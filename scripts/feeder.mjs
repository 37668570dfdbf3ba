#!/usr/bin/env node
// The feeder (@chestaid/worker, worker/src/queue/feederCli.ts): new stable studies in Orthanc become jobs in
// RabbitMQ for the triage workers. Compiles the Node build when a source changed, then runs it.
// `npm run feeder -- --help` lists the options.
import process from 'node:process';

import { requireBuilt } from './node-build.mjs';

await requireBuilt('@chestaid/worker').feederMain(process.argv.slice(2));
