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
import { createElement, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';

export function islandComponent(render: () => ReactNode, displayName: string) {
  const roots = new Map<HTMLElement, Root>();

  // The host detaches our container when it unmounts the panel; unmount our roots after its
  // commit, not during it.
  const unmountDetached = () => {
    for (const [container, root] of roots) {
      if (!container.isConnected) {
        root.unmount();
        roots.delete(container);
      }
    }
  };

  const attach = (container: HTMLDivElement | null) => {
    if (!container) {
      setTimeout(unmountDetached, 0);
      return;
    }
    if (!roots.has(container)) {
      const root = createRoot(container);
      roots.set(container, root);
      root.render(render());
    }
  };

  function Island() {
    return createElement('div', { ref: attach, className: 'h-full w-full overflow-auto' });
  }
  Island.displayName = displayName;
  return Island;
}
