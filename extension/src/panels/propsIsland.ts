/**
 * An island (see island.ts) that receives props from the host: the study list renders one per
 * cell and per header, each with its own row. The host calls the component like any function
 * component; its ref callback is new on every host render, so React hands it the container again
 * and our root re-renders with the new props.
 *
 * The same limits as island.ts: no hooks in the host-rendered component, none of the host's React
 * components or contexts inside, state kept in a service.
 */
import type { ReactNode } from 'react';
import { createElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';

export function propsIslandComponent<P extends object>(
  render: (props: P) => ReactNode,
  displayName: string,
  { className, style }: { className?: string; style?: Record<string, string | number> } = {},
) {
  const roots = new Map<HTMLElement, Root>();

  // The host detaches our containers when it unmounts rows; unmount their roots after its
  // commit, not during it.
  const unmountDetached = () => {
    for (const [container, root] of roots) {
      if (!container.isConnected) {
        root.unmount();
        roots.delete(container);
      }
    }
  };

  function Island(props: P) {
    const attach = (container: HTMLDivElement | null) => {
      if (!container) {
        setTimeout(unmountDetached, 0);
        return;
      }
      let root = roots.get(container);
      if (!root) {
        root = createRoot(container);
        roots.set(container, root);
      }
      root.render(render(props));
    };
    return createElement('div', { ref: attach, className, style });
  }
  Island.displayName = displayName;
  return Island;
}
