/**
 * Binds ChestAid to the viewer's login at registration (called from index.ts). The login itself is
 * OHIF's: app-config.js's `oidc` (authorization code with PKCE), its routes (/callback, /logout)
 * and its userAuthenticationService, which holds the user (an oidc-client-ts User: ID token
 * claims in `profile`, the access token) and the Authorization header its own DICOMweb requests
 * carry. ChestAid asks that service at each use: who the reader and the calibration actor are
 * (identity.ts), and the header its own PACS requests (Save to PACS, results, feedback) carry.
 */
import type { FetchLike } from '@chestaid/core';
import { identityOf, type Identity, type LoginSettings, type LoginUser } from './identity';

/** OHIF's userAuthenticationService, as far as ChestAid reads it. */
export interface UserAuthenticationLike {
  getUser(): LoginUser | null | undefined | void;
  getAuthorizationHeader(): Readonly<Record<string, string>> | undefined | void;
}

export interface Login {
  /** Whether the viewer has a login (OHIF's `oidc` in app-config.js). */
  readonly configured: boolean;
  /** Who is using the viewer now. */
  identity(): Identity;
  /** `fetch` with the logged-in user's Authorization header, for ChestAid's own PACS requests. */
  readonly fetch: FetchLike;
}

export interface LoginWiring {
  /** OHIF's app configuration: a non-empty `oidc` array means the viewer has a login. */
  readonly appConfig?: { readonly oidc?: readonly unknown[] } | null;
  readonly services: { readonly userAuthenticationService?: UserAuthenticationLike };
  readonly readerName: string | null;
  readonly settings: LoginSettings;
  readonly fetch?: FetchLike;
}

export function wireLogin({ appConfig, services, readerName, settings, fetch: fetchImpl = (input, init) => globalThis.fetch(input, init) }: LoginWiring): Login {
  const configured = Array.isArray(appConfig?.oidc) && appConfig.oidc.length > 0;
  const auth = services.userAuthenticationService;
  if (configured && readerName) {
    console.warn(`ChestAid: readerName ${JSON.stringify(readerName)} is not used: the viewer has a login, and the reader is the logged-in user.`);
  }
  const user = () => (configured ? (auth?.getUser() ?? null) : null);
  return {
    configured,
    identity: () => identityOf({ loginConfigured: configured, user: user(), readerName, settings }),
    fetch: (input, init) => {
      const header = configured ? auth?.getAuthorizationHeader() : undefined;
      if (!header) return fetchImpl(input, init);
      return fetchImpl(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...header } });
    },
  };
}
