/**
 * Who is using the viewer, for what ChestAid records under a person's name: the reader named in a
 * feedback SR, and the actor of a calibration change in the audit log.
 *
 * With a login (OHIF's `oidc` in app-config.js, read through its userAuthenticationService) both
 * come from the logged-in user's ID token claims, never from a setting: the reader is the
 * `readerClaim` (default `name`); a calibration change needs `adminRole` among the `rolesClaim`
 * values (default `roles`, a dotted path reaches a nested claim such as Keycloak's
 * `realm_access.roles`). Without a login, as before: the reader is the site's `readerName` (none:
 * feedback SRs are refused), and the admin page asks for a name.
 *
 * Framework-free: the user is a parameter, so tests pass plain objects.
 */
import { t } from '../i18n/translate';

export interface LoginSettings {
  /** The ID token claim that names the reader (and the calibration actor). */
  readonly readerClaim: string;
  /** The claim listing the user's roles: an array of strings or a space-separated string. */
  readonly rolesClaim: string;
  /** The role that may accept or roll back a site calibration. */
  readonly adminRole: string;
}

export const DEFAULT_LOGIN: LoginSettings = { readerClaim: 'name', rolesClaim: 'roles', adminRole: 'chestaid-admin' };

/** The user as OHIF's userAuthenticationService holds it (oidc-client-ts's User): only what is read here. */
export interface LoginUser {
  readonly profile?: Readonly<Record<string, unknown>> | null;
  readonly expired?: boolean;
}

/** Who records a calibration change: a name typed on the page (no login), the logged-in admin, or nobody and why. */
export type CalibrationActor = { readonly kind: 'typed' } | { readonly kind: 'login'; readonly name: string } | { readonly kind: 'refused'; readonly reason: string };

export interface Identity {
  /** 'login': from the logged-in user; 'setting': from the site's readerName (no login configured). */
  readonly source: 'login' | 'setting';
  /** The reader named in feedback (null: nobody; feedback SRs are then refused). */
  readonly reader: string | null;
  /** Why there is no reader, for the refusal's message (null when there is one). */
  readonly noReader: string | null;
  readonly calibrationActor: CalibrationActor;
}

function claimAt(profile: Readonly<Record<string, unknown>>, path: string): unknown {
  if (path in profile) return profile[path];
  let value: unknown = profile;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** The roles a claim lists, whichever of the usual shapes it has. */
export function rolesOf(profile: Readonly<Record<string, unknown>>, claim: string): readonly string[] {
  const value = claimAt(profile, claim);
  if (Array.isArray(value)) return value.filter((role): role is string => typeof role === 'string');
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  return [];
}

/**
 * The identity ChestAid records under. `loginConfigured`: the viewer has an OIDC login (then
 * `readerName` is not used); `user`: the logged-in user (null or undefined: nobody yet).
 */
export function identityOf({
  loginConfigured,
  user,
  readerName,
  settings = DEFAULT_LOGIN,
}: {
  readonly loginConfigured: boolean;
  readonly user: LoginUser | null | undefined;
  readonly readerName: string | null;
  readonly settings?: LoginSettings;
}): Identity {
  if (!loginConfigured) {
    const reader = text(readerName);
    return {
      source: 'setting',
      reader,
      noReader: reader ? null : t('login.noReaderSetting'),
      calibrationActor: { kind: 'typed' },
    };
  }
  const profile = user?.profile;
  if (!user || !profile || user.expired) {
    const why = t(user?.expired ? 'login.expired' : 'login.nobody');
    return { source: 'login', reader: null, noReader: why, calibrationActor: { kind: 'refused', reason: t('login.changeNeedsLogin', { why }) } };
  }
  const name = text(claimAt(profile, settings.readerClaim));
  if (!name) {
    const why = t('login.noReaderClaim', { claim: settings.readerClaim });
    return { source: 'login', reader: null, noReader: why, calibrationActor: { kind: 'refused', reason: t('login.changeNeedsName', { why }) } };
  }
  const account = text(profile.preferred_username) ?? text(profile.sub);
  const actorName = account && account !== name ? `${name} (${account})` : name;
  const admin = rolesOf(profile, settings.rolesClaim).includes(settings.adminRole);
  return {
    source: 'login',
    reader: name,
    noReader: null,
    calibrationActor: admin
      ? { kind: 'login', name: actorName }
      : {
          kind: 'refused',
          reason: t('login.notAdmin', { actor: actorName, role: settings.adminRole, claim: settings.rolesClaim }),
        },
  };
}

/** The login settings from the extension's configuration, each checked; missing ones take the defaults. */
export function resolveLoginSettings(login: Partial<LoginSettings> | undefined): LoginSettings {
  const settings = { ...DEFAULT_LOGIN, ...login };
  for (const key of ['readerClaim', 'rolesClaim', 'adminRole'] as const) {
    if (typeof settings[key] !== 'string' || settings[key].trim() === '') {
      throw new Error(`ChestAid login setting ${key} must be a non-empty string, got ${JSON.stringify(settings[key])}`);
    }
  }
  return settings;
}
