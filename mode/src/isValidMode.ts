import { checkModalities, type Applicability } from '@chestaid/extension-chestaid';

/**
 * Offered on the study list only for studies with CR or DX images. OHIF 3.13's study list hides a
 * mode whose `valid` is false (the legacy list showed it disabled, with `description` as tooltip).
 */
export function isValidMode({ modalities }: { modalities: string; study?: unknown }): Applicability {
  return checkModalities(modalities);
}
