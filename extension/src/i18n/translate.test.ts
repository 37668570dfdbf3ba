import i18next from 'i18next';

import { riskText } from '../triage/format';
import { captureCaption, scoreAndThreshold, statusText } from '../panels/format';
import { decimal, integer, percent, utcDateTime, wallClock } from './format';
import { detectLanguage, supportedLanguage } from './language';
import { notAnalyzedText } from './refusal';
import { catalogueTranslator, hostTranslator, interpolate, NAMESPACE, setTranslator, t, tCount, translator } from './translate';

/** Intl separates "73,4" from "%" (and "PM" from the time) with no-break spaces; a reader sees spaces. */
const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');

afterEach(() => setTranslator(catalogueTranslator('en')));

describe('the reader\'s language', () => {
  it('takes OHIF\'s detection order: ?lng=, the i18next cookie, OHIF\'s stored setting, the browser, the page', () => {
    const all = { search: '?lng=es', cookie: 'a=1; i18next=en-GB', storedLanguage: 'fr', navigatorLanguages: ['de-DE'], htmlLang: 'it' };
    expect(detectLanguage(all)).toBe('es');
    expect(detectLanguage({ ...all, search: '' })).toBe('en-GB');
    expect(detectLanguage({ ...all, search: '', cookie: 'a=1' })).toBe('fr');
    expect(detectLanguage({ navigatorLanguages: ['es-MX', 'en'], htmlLang: 'en' })).toBe('es-MX');
    expect(detectLanguage({ htmlLang: 'es' })).toBe('es');
    expect(detectLanguage({})).toBe('en-US');
  });

  it('reads Spanish for any Spanish tag and English for a language without a catalogue', () => {
    expect(['es', 'es-ES', 'es_MX', 'ES-419'].map(supportedLanguage)).toEqual(['es', 'es', 'es', 'es']);
    expect(['en-US', 'fr', '', null, 'cimode'].map(supportedLanguage)).toEqual(['en', 'en', 'en', 'en', 'en']);
    expect(catalogueTranslator('es-MX')).toMatchObject({ language: 'es', locale: 'es-MX' });
    // French words are not ours to give: English words, and English digits to match them.
    expect(catalogueTranslator('fr-FR')).toMatchObject({ language: 'en', locale: 'en' });
  });
});

describe('formatting through Intl', () => {
  it('writes 0.734 as 73.4% in English and 73,4 % in Spanish', () => {
    expect(percent(0.734)).toBe('73.4%');
    setTranslator(catalogueTranslator('es'));
    expect(plain(percent(0.734))).toBe('73,4 %');
    expect(plain(percent(0.5, 0))).toBe('50 %');
    expect(decimal(12.25, 1)).toBe('12,3');
  });

  it('groups thousands and formats dates as the locale does', () => {
    expect(integer(12345)).toBe('12,345');
    expect(plain(utcDateTime('2026-11-26T10:05:59.123Z'))).toBe('11/26/2026, 10:05 AM UTC');
    expect(wallClock(2026, 1, 24, null)).toBe('01/24/2026');
    setTranslator(catalogueTranslator('es-ES'));
    expect(integer(12345)).toBe('12.345');
    expect(plain(utcDateTime('2026-11-26T10:05:59.123Z'))).toBe('26/11/2026, 10:05 UTC');
    expect(wallClock(2026, 1, 24, { hour: 12, minute: 6 })).toBe('24/01/2026, 12:06');
    // Not a date: shown as it came rather than as "Invalid Date".
    expect(utcDateTime('yesterday')).toBe('yesterday');
  });

  it('keeps the digits that tell a score from its threshold in either language', () => {
    setTranslator(catalogueTranslator('es'));
    const shown = scoreAndThreshold(0.4994, 0.4986);
    expect({ score: plain(shown.score), threshold: plain(shown.threshold) }).toEqual({ score: '49,94 %', threshold: '49,86 %' });
  });
});

describe('words', () => {
  it('interpolates {{name}} as i18next does, leaving unknown names visible', () => {
    expect(interpolate('{{a}} and {{ b }} and {{c}}', { a: 1, b: 'two' })).toBe('1 and two and {{c}}');
  });

  it('chooses the counted form by the locale\'s plural rules', () => {
    expect(tCount('outbox.readings', 1)).toBe('1 reading');
    expect(tCount('outbox.readings', 3)).toBe('3 readings');
    setTranslator(catalogueTranslator('es'));
    expect(tCount('outbox.readings', 1)).toBe('1 lectura');
    expect(tCount('outbox.readings', 1000)).toBe('1000 lecturas');
  });

  it('words the panel, the worklist and the caption in Spanish', () => {
    setTranslator(catalogueTranslator('es'));
    expect(plain(riskText({ kind: 'scored', probability: 0.734, analyzedAt: 0, failedImages: 0 } as unknown as Parameters<typeof riskText>[0], 0.5).label)).toBe('73,4 % (por encima del umbral 50,0 %)');
    expect(t('decision.above')).toBe('Por encima del umbral clínico: leer primero');
    const outcome = { analysis: { probability: 0.873 } } as Parameters<typeof captureCaption>[0];
    const caption = captureCaption(outcome, 0.75, { id: 'chestaid-demo', version: '0.1.0', calibrationMethod: 'isotonic', calibrationVersion: '1', synthetic: false });
    expect(caption.map(plain)).toEqual([
      'Score de riesgo ChestAid 87,3 % (calibrado), umbral 75,0 %: por encima del umbral clínico: leer primero.',
      'Modelo chestaid-demo 0.1.0, calibrado por regresión isotónica (versión de calibración 1).',
      'Mapa de calor: atención del modelo, no localización de la lesión. Apoyo a la decisión, no un diagnóstico.',
    ]);
    const idle = statusText({ analysis: { status: 'idle' }, model: { status: 'loading' }, hostProblem: null, study: null } as unknown as Parameters<typeof statusText>[0]);
    expect(idle).toBe('Cargando el manifiesto del modelo...');
  });

  it('words a refusal from its key and values, and keeps the English reason of a record without them', () => {
    setTranslator(catalogueTranslator('es'));
    const age = { code: 'age-out-of-range', reason: "the patient's age, 6 months ...", message: { key: 'refusal.ageFrom', params: { count: 6, unit: 'M', min: 1 } } };
    expect(notAnalyzedText(age)).toBe('Sin analizar: la edad del paciente, 6 meses, está fuera del uso previsto del modelo (1 año o más)');
    const ood = { code: 'out-of-distribution', reason: 'outside ...', message: { key: 'refusal.outOfDistribution', params: { score: 41.27, threshold: 12.5 } } };
    expect(notAnalyzedText(ood)).toContain('control de entrada 41,3 > 12,5');
    expect(notAnalyzedText({ reason: 'a LL view; the model reads frontal chest radiographs (ViewPosition PA or AP) only' })).toBe(
      'Sin analizar: a LL view; the model reads frontal chest radiographs (ViewPosition PA or AP) only',
    );
    expect(notAnalyzedText({ reason: 'from a newer build', message: { key: 'refusal.notInThisBuild', params: {} } })).toBe('Sin analizar: from a newer build');
  });
});

describe('the host\'s i18next (OHIF 3.13.2 carries i18next 17.3.1)', () => {
  async function ohifLikeI18n(lng: string, keySeparator: false | string = false) {
    const instance = i18next.createInstance();
    // As @ohif/i18n initialises it: English (en-US) fallback, flat keys, no escaping.
    await instance.init({ lng, fallbackLng: 'en-US', keySeparator, interpolation: { escapeValue: false }, resources: { es: { Common: { Close: 'Cerrar' } } } });
    return instance;
  }

  it('registers the ChestAid namespace and translates in the host\'s language', async () => {
    const host = await ohifLikeI18n('es');
    setTranslator(hostTranslator(host));
    expect(host.hasResourceBundle('es', NAMESPACE)).toBe(true);
    expect(translator()).toMatchObject({ language: 'es', locale: 'es' });
    expect(t('panel.analyze')).toBe('Analizar');
    expect(t('row.failed', { message: '<PACS 503>' })).toBe('error: <PACS 503>');
    expect(tCount('outbox.readings', 2)).toBe('2 lecturas');
    // The host's own words are untouched.
    expect(host.t('Common:Close')).toBe('Cerrar');
  });

  it('falls back to English for a language ChestAid does not carry, as OHIF does', async () => {
    setTranslator(hostTranslator(await ohifLikeI18n('fr')));
    expect(t('panel.analyze')).toBe('Analyze');
    expect(translator().locale).toBe('en');
  });

  it('finds the dotted keys even when the host splits keys on dots', async () => {
    setTranslator(hostTranslator(await ohifLikeI18n('es', '.')));
    expect(t('heatmap.layers.attention')).toBe('Mapa de atención');
    expect(t('panel.statusScore', { score: '1 %', decision: 'x' })).toBe('Score de riesgo 1 %: x.');
  });
});
