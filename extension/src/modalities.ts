/**
 * Which studies ChestAid reads: frontal chest radiographs, i.e. CR or DX. One rule shared by the
 * mode's isValidMode (study list) and the panel (a study opened by URL in the ChestAid mode).
 */
import { orList } from './i18n/format';
import { t } from './i18n/translate';

export const ACCEPTED_MODALITIES: readonly string[] = ['CR', 'DX'];

export interface Applicability {
  readonly valid: boolean;
  readonly description: string;
}

/** OHIF passes a study's modalities as one string, separated by backslashes (DICOM) or slashes. */
export function splitModalities(modalities: string | readonly string[] | undefined | null): string[] {
  const list = typeof modalities === 'string' ? modalities.split(/[\\/,]/) : [...(modalities ?? [])];
  return [...new Set(list.map(m => m.trim().toUpperCase()).filter(Boolean))];
}

export function checkModalities(modalities: string | readonly string[] | undefined | null): Applicability {
  const present = splitModalities(modalities);
  const accepted = present.filter(m => ACCEPTED_MODALITIES.includes(m));
  if (accepted.length > 0) {
    return { valid: true, description: t('study.reads', { modalities: accepted.join('/') }) };
  }
  const found = present.length > 0 ? present.join(', ') : t('study.noModality');
  return {
    valid: false,
    description: t('study.notChest', { accepted: orList(ACCEPTED_MODALITIES), found }),
  };
}
