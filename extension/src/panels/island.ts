/**
 * A React "island": the host viewer renders a plain <div>, and ChestAid renders its own UI into it
 * with its own copy of React 18. OHIF 3.13 shares no React with runtime-loaded extensions, and its
 * bundle's internals are not an API; the island touches none of them.
 *
 * What it relies on: the host renders the component below as an ordinary function component, and
 * accepts the element our React creates, which holds while both are React 18 (the element tag is
 * a global symbol; scripts/check-ohif-host.mjs checks the majors at build time). The component
 * uses no hooks (they would reach the host's dispatcher through our React and fail). Limits: the
 * host's React components and contexts are not available inside; state belongs in a service,
 * because the host unmounts panels freely.
 */
import type { ReactNode } from 'react';

import { propsIslandComponent } from './propsIsland';

/** The panel's island: no props from the host; it fills the panel and scrolls. */
export function islandComponent(render: () => ReactNode, displayName: string) {
  return propsIslandComponent<Record<string, never>>(() => render(), displayName, { className: 'h-full w-full overflow-auto' });
}
