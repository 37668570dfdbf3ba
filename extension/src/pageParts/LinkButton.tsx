import type { CSSProperties, ReactNode } from 'react';

const LINK_STYLE: CSSProperties = { textDecoration: 'underline' };

/** A button that looks like a link: the pages' navigation and small actions. */
export function LinkButton({ onClick, cy, style, children }: { onClick: () => void; cy?: string; style?: CSSProperties; children: ReactNode }) {
  return (
    <button type="button" className="text-primary" style={style ? { ...style, ...LINK_STYLE } : LINK_STYLE} onClick={onClick} data-cy={cy}>
      {children}
    </button>
  );
}
