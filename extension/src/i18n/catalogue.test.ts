import { en, type Key } from './en';
import { es } from './es';
import { CATALOGUES } from './translate';

const placeholders = (text: string) => [...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map(m => m[1]).sort();

describe('the catalogues', () => {
  const languages = Object.entries(CATALOGUES);

  it('have the same keys in every language', () => {
    const keys = Object.keys(en).sort();
    for (const [language, catalogue] of languages) {
      expect({ language, keys: Object.keys(catalogue).sort() }).toEqual({ language, keys });
    }
  });

  it('have no empty value', () => {
    for (const [language, catalogue] of languages) {
      const empty = Object.entries(catalogue).filter(([, text]) => typeof text !== 'string' || text.trim() === '');
      expect({ language, empty }).toEqual({ language, empty: [] });
    }
  });

  it('fill the same values in every language', () => {
    for (const key of Object.keys(en) as Key[]) {
      expect({ key, es: placeholders(es[key]) }).toEqual({ key, es: placeholders(en[key]) });
    }
  });

  it('give every counted phrase both forms', () => {
    for (const [language, catalogue] of languages) {
      const counted = Object.keys(catalogue).filter(key => /\.(one|other)$/.test(key));
      for (const key of counted) {
        const stem = key.replace(/\.(one|other)$/, '');
        expect({ language, key, one: `${stem}.one` in catalogue, other: `${stem}.other` in catalogue }).toEqual({ language, key, one: true, other: true });
        expect({ language, key, count: placeholders(catalogue[key as Key]).includes('count') }).toEqual({ language, key, count: true });
      }
    }
  });

  it('translate: no Spanish value is left the same as the English beyond names, codes and units', () => {
    // Words that read the same in both languages: units, product and DICOM names, "Normal".
    const same = new Set(['unit.milliseconds', 'unit.seconds', 'unit.minutes', 'panel.model', 'feedback.normal', 'triageBatch.running', 'age.fromPatientAge']);
    const untranslated = (Object.keys(en) as Key[]).filter(key => !same.has(key) && es[key] === en[key] && /[a-z]{3,}/.test(en[key].replace(/\{\{\w+\}\}/g, '')));
    expect(untranslated).toEqual([]);
  });

  it('use the original study\'s Spanish terms for the medical words', () => {
    // From the Spanish project brief ChestAid grew from (shared/seed): neumonía, score de riesgo
    // calibrado, umbral clínico, mapa de calor; and "apoyo ..., no diagnóstico".
    expect(es['column.risk']).toBe('Riesgo de neumonía');
    expect(es['feedback.pneumonia']).toBe('Neumonía');
    expect(es['result.threshold']).toBe('Umbral clínico');
    expect(es['decision.above']).toContain('umbral clínico');
    expect(es['heatmap.legend']).toBe('Mapa de calor');
    expect(es['result.score']).toBe('Score de riesgo (calibrado)');
    expect(es['panel.disclaimer']).toBe('Apoyo a la decisión, no un diagnóstico.');
    const all = Object.values(es).join(' ').replace(/\{\{\w+\}\}/g, '');
    // The English or the unaccented spellings must not creep in.
    expect(all).not.toMatch(/\bneumonia\b|\bheatmap\b|\bthreshold\b|\bpneumonia\b/i);
  });
});
