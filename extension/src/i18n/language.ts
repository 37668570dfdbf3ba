/**
 * The reader's language as OHIF 3.13.2's i18next detects it (@ohif/i18n config.js:
 * order querystring `lng`, cookie `i18next`, localStorage `i18nextLng`, navigator, the html
 * element's lang), for a host that does not hand over its i18next instance. OHIF's language
 * setting writes localStorage and the cookie, so the reader's choice in its preferences wins over
 * the browser's language, as it does for OHIF's own words.
 */
export const LANGUAGES = ['en', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

/** 'es-ES' -> 'es'; a language without a ChestAid catalogue -> 'en' (OHIF's fallback too). */
export function supportedLanguage(tag: string | null | undefined): Language {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return (LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : 'en';
}

/** Where OHIF's detector looks, as plain values (tests pass them; the extension reads the page). */
export interface LanguageSources {
  readonly search?: string;
  readonly cookie?: string;
  readonly storedLanguage?: string | null;
  readonly navigatorLanguages?: readonly string[];
  readonly htmlLang?: string | null;
}

/** The first language tag found in OHIF's detection order, or 'en-US' (OHIF's DEFAULT_LANGUAGE). */
export function detectLanguage(sources: LanguageSources): string {
  const fromQuery = new URLSearchParams(sources.search ?? '').get('lng');
  const fromCookie = (sources.cookie ?? '')
    .split(';')
    .map(part => part.trim().split('='))
    .find(([name]) => name === 'i18next')?.[1];
  const candidates = [fromQuery, fromCookie && decodeURIComponent(fromCookie), sources.storedLanguage, ...(sources.navigatorLanguages ?? []), sources.htmlLang];
  return candidates.find((tag): tag is string => typeof tag === 'string' && tag.trim() !== '')?.trim() ?? 'en-US';
}

/** The page's sources, read once when the extension registers (OHIF reloads on a language change). */
export function pageLanguageSources(): LanguageSources {
  let storedLanguage: string | null = null;
  try {
    storedLanguage = window.localStorage.getItem('i18nextLng');
  } catch {
    // Storage refused (a sandboxed frame): the other sources still say.
  }
  return {
    // OHIF's own documented way to choose a language for one visit (`?lng=es`): read as OHIF reads it.
    search: window.location.search,
    cookie: document.cookie,
    storedLanguage,
    navigatorLanguages: navigator.languages?.length ? navigator.languages : [navigator.language],
    htmlLang: document.documentElement.lang,
  };
}
