/**
 * SR content items (PS3.3 C.17.3), naturalized for dcmjs, and the search over a content tree the
 * readers use. One constructor per value type keeps the builders readable as the template tables.
 */
import { sameCode, type Code } from './codes';
import { decimalString, itemsOf, type Dataset } from './values';

export type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM' | 'SELECTED FROM';

const base = (relationship: Relationship, valueType: string, concept: Code): Dataset => ({
  RelationshipType: relationship,
  ValueType: valueType,
  ConceptNameCodeSequence: [{ ...concept }],
});

export const container = (relationship: Relationship, concept: Code, children: Dataset[]): Dataset => ({
  ...base(relationship, 'CONTAINER', concept),
  ContinuityOfContent: 'SEPARATE',
  ContentSequence: children,
});

export const textItem = (relationship: Relationship, concept: Code, value: string): Dataset => ({
  ...base(relationship, 'TEXT', concept),
  TextValue: value,
});

export const codeItem = (relationship: Relationship, concept: Code, value: Code): Dataset => ({
  ...base(relationship, 'CODE', concept),
  ConceptCodeSequence: [{ ...value }],
});

export const uidItem = (relationship: Relationship, concept: Code, uid: string): Dataset => ({
  ...base(relationship, 'UIDREF', concept),
  UID: uid,
});

/** An IMAGE item; without a concept name as TID 1601 (Image Library Entry) has it. */
export const imageItem = (relationship: Relationship, concept: Code | undefined, sopClassUID: string, sopInstanceUID: string): Dataset => ({
  ...(concept ? base(relationship, 'IMAGE', concept) : { RelationshipType: relationship, ValueType: 'IMAGE' }),
  ReferencedSOPSequence: [{ ReferencedSOPClassUID: sopClassUID, ReferencedSOPInstanceUID: sopInstanceUID }],
});

/**
 * A SCOORD polyline in image pixel coordinates (column, row; 0\0 is the top left corner of the
 * first pixel, PS3.3 C.18.6.1.1), SELECTED FROM the image it is drawn on.
 */
export const polylineItem = (
  relationship: Relationship,
  concept: Code,
  points: readonly number[],
  sopClassUID: string,
  sopInstanceUID: string,
): Dataset => ({
  ...base(relationship, 'SCOORD', concept),
  GraphicType: 'POLYLINE',
  GraphicData: [...points],
  ContentSequence: [imageItem('SELECTED FROM', undefined, sopClassUID, sopInstanceUID)],
});

/**
 * A NUM item. The value goes twice: as NumericValue (DS, at most 16 characters, so rounded to
 * about 14 significant digits) for every SR reader, and as FloatingPointValue (FD, the IEEE double
 * itself; PS3.3 Table C.18-1 allows it beside NumericValue) so ChestAid reads back exactly the
 * number it computed. No children: OHIF 3.13 drops a NUM with children that are not SCOORDs.
 */
export const numItem = (
  relationship: Relationship,
  concept: Code,
  value: number,
  unit: Code,
  extra: { observationDateTime?: string } = {},
): Dataset => ({
  ...base(relationship, 'NUM', concept),
  ...(extra.observationDateTime ? { ObservationDateTime: extra.observationDateTime } : {}),
  MeasuredValueSequence: [
    {
      MeasurementUnitsCodeSequence: [{ ...unit }],
      NumericValue: decimalString(value),
      FloatingPointValue: value,
    },
  ],
});

export function conceptOf(item: Dataset): unknown {
  return itemsOf(item.ConceptNameCodeSequence)[0];
}

/** Every item under `items` (depth first, children after their parent) whose concept name is `concept`. */
export function findAll(items: unknown, concept: Code): Dataset[] {
  const found: Dataset[] = [];
  const walk = (list: unknown) => {
    for (const item of itemsOf(list)) {
      if (sameCode(conceptOf(item), concept)) found.push(item);
      walk(item.ContentSequence);
    }
  };
  walk(items);
  return found;
}

export function findFirst(items: unknown, concept: Code): Dataset | undefined {
  return findAll(items, concept)[0];
}
