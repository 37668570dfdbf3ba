/**
 * ChestAid's words in the reader's language. One catalogue per language (en.ts, es.ts) under the
 * i18next namespace 'ChestAid', and one active translator the extension's words go through:
 *
 * - when the host hands over its i18next instance (a site that builds ChestAid into its own OHIF
 *   passes `@ohif/i18n`'s default export as the extension's `i18n` configuration), the catalogues
 *   are added to it with addResourceBundle and every word is looked up there, in the host's
 *   language, so OHIF's language setting and ours are one;
 * - otherwise (the demo host loads ChestAid's bundle at run time and OHIF 3.13.2 exposes no
 *   i18next instance to such a bundle) a small translator over the same catalogues, in the
 *   language OHIF's own i18next detects (language.ts). OHIF reloads the page when the reader
 *   changes the language in its preferences, so reading it once at start follows the setting.
 *
 * Numbers, percentages and dates go through Intl in the same locale (format.ts).
 */
import { en, type Catalogue, type Key } from './en';
import { es } from './es';
import { supportedLanguage, type Language } from './language';

export const NAMESPACE = 'ChestAid';

export const CATALOGUES: Readonly<Record<Language, Catalogue>> = { en, es };

export type Params = Readonly<Record<string, string | number>>;

/**
 * What ChestAid uses of an i18next instance (i18next 19 to 25 all have it): structurally typed, so
 * tests pass a fake and the extension never imports i18next.
 */
export interface HostI18n {
  readonly language?: string;
  addResourceBundle(language: string, namespace: string, resources: object, deep?: boolean, overwrite?: boolean): unknown;
  getFixedT(language: string | null, namespace: string): (key: string, options?: Record<string, unknown>) => string;
}

export interface Translator {
  /** 'en' or 'es': the catalogue in use. */
  readonly language: Language;
  /** The BCP 47 locale Intl formats with ('es-ES', 'en-US'...). */
  readonly locale: string;
  t(key: Key, params?: Params): string;
}

/** `{{name}}` replaced by params.name, as i18next interpolates (without escaping: React escapes). */
export function interpolate(template: string, params: Params = {}): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The catalogues' own translator, for `language` (any BCP 47 tag; unknown ones read English). */
export function catalogueTranslator(language: string): Translator {
  const lang = supportedLanguage(language);
  const catalogue = CATALOGUES[lang];
  return {
    language: lang,
    locale: localeOf(language, lang),
    t: (key, params) => interpolate(catalogue[key] ?? en[key] ?? key, params),
  };
}

/**
 * A translator over the host's i18next: the catalogues registered in the namespace (English also
 * as en-US, OHIF's fallback language), words looked up in the host's current language.
 */
export function hostTranslator(host: HostI18n): Translator {
  for (const [lang, catalogue] of Object.entries(CATALOGUES)) {
    host.addResourceBundle(lang, NAMESPACE, catalogue, true, true);
    if (lang === 'en') host.addResourceBundle('en-US', NAMESPACE, catalogue, true, true);
  }
  const fixed = host.getFixedT(null, NAMESPACE);
  const language = host.language ?? 'en';
  const lang = supportedLanguage(language);
  return {
    language: lang,
    locale: localeOf(language, lang),
    // Our keys hold dots and our values colons: neither separates anything here, whatever the host's options.
    t: (key, params) => fixed(key, { ...params, keySeparator: false, nsSeparator: false, interpolation: { escapeValue: false } }),
  };
}

function localeOf(tag: string, lang: Language): string {
  // The region the reader chose shapes dates and numbers ('es-MX'); a language we do not
  // translate reads English, so its numbers must too, or the words and digits would disagree.
  try {
    return supportedLanguage(tag) === lang && tag.toLowerCase().startsWith(lang) ? Intl.getCanonicalLocales(tag)[0] : lang;
  } catch {
    return lang;
  }
}

let active: Translator = catalogueTranslator('en');

/** Sets the translator every word goes through (the extension's preRegistration; tests). */
export function setTranslator(translator: Translator): void {
  active = translator;
}

export function translator(): Translator {
  return active;
}

/** A word of the catalogue in the active language. */
export function t(key: Key, params?: Params): string {
  return active.t(key, params);
}

/**
 * A counted phrase: the catalogue holds `<key>.one` and `<key>.other`, chosen by the active
 * locale's plural rules and given `count` (formatted) as a parameter. Chosen here rather than
 * by i18next, whose plural suffixes changed between the versions an OHIF host may carry.
 */
export function tCount(key: string, count: number, params: Params = {}): string {
  const { plural, number } = countFormatOf(active.locale);
  const form = plural.select(count) === 'one' ? 'one' : 'other';
  return active.t(`${key}.${form}` as Key, { ...params, count: number.format(count) });
}

// Kept per locale rather than built per call (Intl objects are slow to build; rows of a list use them).
const countFormats = new Map<string, { readonly plural: Intl.PluralRules; readonly number: Intl.NumberFormat }>();

function countFormatOf(locale: string) {
  let formats = countFormats.get(locale);
  if (!formats) {
    formats = { plural: new Intl.PluralRules(locale), number: new Intl.NumberFormat(locale) };
    countFormats.set(locale, formats);
  }
  return formats;
}
