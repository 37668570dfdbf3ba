import type { CSSProperties, ReactNode } from 'react';

/** A failure the user must see: red, and announced (role "alert"). */
export function ErrorLine({ cy, style, children }: { cy: string; style?: CSSProperties; children: ReactNode }) {
  return (
    <p className="text-red-500" role="alert" data-cy={cy} style={style}>
      {children}
    </p>
  );
}
