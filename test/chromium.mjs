// Debian's Chromium driven by playwright-core (downloaded browsers do not run here), shared by the
// viewer e2e tests, the WebGPU check and the benchmark.
import { existsSync } from 'node:fs';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHESTAID_CHROMIUM ?? '/usr/bin/chromium';

// Headless as root: no sandbox, and no background traffic (this machine's network is closed, and
// the viewer must send nothing anywhere anyway).
const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * @param {{ webgl?: boolean, webgpu?: boolean, args?: string[] }} options
 *   webgl: WebGL on SwiftShader (Cornerstone renders with WebGL; this machine has no GPU);
 *   webgpu: --enable-unsafe-webgpu, which gives SwiftShader's fallback adapter here; without it
 *   there is no adapter;
 *   args: further switches (the benchmark's memory measurement, WebNN).
 */
export async function launchChromium({ webgl = false, webgpu = false, args = [] } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does) or set CHESTAID_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...BASE_ARGS,
      ...(webgl ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : []),
      ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
      ...args,
    ],
  });
}
