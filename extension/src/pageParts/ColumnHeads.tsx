import type { CSSProperties } from 'react';

/** A table's header row: one column header (scope "col") per name, each cell styled as the table's. */
export function ColumnHeads({ columns, cellStyle, className }: { columns: readonly string[]; cellStyle: CSSProperties; className?: string }) {
  return (
    <thead>
      <tr className={className}>
        {columns.map(name => (
          <th key={name} style={cellStyle} scope="col">
            {name}
          </th>
        ))}
      </tr>
    </thead>
  );
}
