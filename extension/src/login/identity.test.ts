import { DEFAULT_LOGIN, identityOf, resolveLoginSettings, rolesOf } from './identity';
import { wireLogin } from './wire';
import { catalogueTranslator, setTranslator } from '../i18n/translate';

// The claims the dev provider's users carry (scripts/oidc-dev-provider.mjs).
const reader = { profile: { sub: 'reader', name: 'Rita Reader', preferred_username: 'reader', roles: ['chestaid-reader'] }, expired: false };
const admin = { profile: { sub: 'admin', name: 'Ada Admin', preferred_username: 'admin', roles: ['chestaid-reader', 'chestaid-admin'] }, expired: false };

describe('identityOf without a login', () => {
  it('names the reader from the readerName setting, and lets the admin page ask for a name, as before login existed', () => {
    expect(identityOf({ loginConfigured: false, user: null, readerName: ' Dr Static ' })).toEqual({
      source: 'setting',
      reader: 'Dr Static',
      noReader: null,
      calibrationActor: { kind: 'typed' },
    });
  });

  it('has no reader without readerName (feedback SRs are refused), whoever the user object says', () => {
    const identity = identityOf({ loginConfigured: false, user: admin, readerName: null });
    expect(identity.reader).toBeNull();
    expect(identity.noReader).toMatch(/readerName/);
    expect(identity.calibrationActor).toEqual({ kind: 'typed' });
  });
});

describe('identityOf with a login', () => {
  it("names the reader from the logged-in user's name claim, never from readerName", () => {
    const identity = identityOf({ loginConfigured: true, user: reader, readerName: 'Dr Static' });
    expect(identity).toMatchObject({ source: 'login', reader: 'Rita Reader', noReader: null });
  });

  it('lets an admin change the calibration under their name and account', () => {
    expect(identityOf({ loginConfigured: true, user: admin, readerName: null }).calibrationActor).toEqual({ kind: 'login', name: 'Ada Admin (admin)' });
  });

  it('refuses a calibration change by a reader without the admin role, naming the role and the claim', () => {
    const { calibrationActor } = identityOf({ loginConfigured: true, user: reader, readerName: null });
    expect(calibrationActor).toEqual({
      kind: 'refused',
      reason: 'Only a ChestAid administrator may change the calibration: Rita Reader (reader) is logged in without the "chestaid-admin" role (the "roles" claim).',
    });
  });

  it("words the refusal in the reader's language", () => {
    setTranslator(catalogueTranslator('es'));
    try {
      expect(identityOf({ loginConfigured: true, user: reader, readerName: null }).calibrationActor).toEqual({
        kind: 'refused',
        reason: 'Solo un administrador de ChestAid puede cambiar la calibración: Rita Reader (reader) ha iniciado sesión sin el rol "chestaid-admin" (la claim "roles").',
      });
      expect(identityOf({ loginConfigured: true, user: null, readerName: null }).noReader).toBe('nadie ha iniciado sesión');
    } finally {
      setTranslator(catalogueTranslator('en'));
    }
  });

  it('has no reader and no actor while nobody is logged in, or once the login expired', () => {
    for (const [user, why] of [
      [null, 'nobody is logged in'],
      [{ ...admin, expired: true }, 'the login has expired: log in again'],
    ] as const) {
      const identity = identityOf({ loginConfigured: true, user, readerName: 'Dr Static' });
      expect(identity).toMatchObject({ source: 'login', reader: null, noReader: why });
      expect(identity.calibrationActor).toEqual({ kind: 'refused', reason: `A calibration change is recorded under the logged-in user: ${why}.` });
    }
  });

  it('refuses to guess a name when the ID token lacks the reader claim', () => {
    const identity = identityOf({ loginConfigured: true, user: { profile: { sub: 'x1', roles: ['chestaid-admin'] } }, readerName: null });
    expect(identity.reader).toBeNull();
    expect(identity.noReader).toMatch(/no "name" claim/);
    expect(identity.calibrationActor.kind).toBe('refused');
  });

  it("reads other claim names, nested roles (Keycloak's realm_access.roles) and space-separated roles", () => {
    const settings = { readerClaim: 'display_name', rolesClaim: 'realm_access.roles', adminRole: 'pacs-admin' };
    const keycloak = { profile: { sub: 'f3a9', display_name: 'Dr Kim', preferred_username: 'kim', realm_access: { roles: ['pacs-admin'] } } };
    expect(identityOf({ loginConfigured: true, user: keycloak, readerName: null, settings })).toMatchObject({ reader: 'Dr Kim', calibrationActor: { kind: 'login', name: 'Dr Kim (kim)' } });
    expect(rolesOf({ roles: 'a chestaid-admin' }, 'roles')).toEqual(['a', 'chestaid-admin']);
    expect(rolesOf({ roles: 7 }, 'roles')).toEqual([]);
  });
});

describe('resolveLoginSettings', () => {
  it('takes the defaults and refuses an empty claim name, naming it', () => {
    expect(resolveLoginSettings(undefined)).toEqual(DEFAULT_LOGIN);
    expect(resolveLoginSettings({ adminRole: 'x' })).toEqual({ ...DEFAULT_LOGIN, adminRole: 'x' });
    expect(() => resolveLoginSettings({ rolesClaim: ' ' })).toThrow('ChestAid login setting rolesClaim must be a non-empty string, got " "');
  });
});

describe('wireLogin', () => {
  function auth(user: unknown, header: Record<string, string> | undefined) {
    return { getUser: () => user as never, getAuthorizationHeader: () => header };
  }

  it('is configured by OHIF\'s oidc array and asks the user at each use (the login completes after registration)', () => {
    let user: unknown = null;
    const service = { getUser: () => user as never, getAuthorizationHeader: () => undefined };
    const login = wireLogin({ appConfig: { oidc: [{ authority: 'https://idp.example' }] }, services: { userAuthenticationService: service }, readerName: null, settings: DEFAULT_LOGIN });
    expect(login.configured).toBe(true);
    expect(login.identity().reader).toBeNull();
    user = admin;
    expect(login.identity().reader).toBe('Ada Admin');
  });

  it('without oidc, keeps the readerName and adds no header', async () => {
    const seen: RequestInit[] = [];
    const fetch = async (_input: string, init?: RequestInit) => {
      seen.push(init ?? {});
      return new Response('');
    };
    const login = wireLogin({ appConfig: { oidc: [] }, services: { userAuthenticationService: auth(admin, { Authorization: 'Bearer t' }) }, readerName: 'Dr Static', settings: DEFAULT_LOGIN, fetch });
    expect(login.configured).toBe(false);
    expect(login.identity().reader).toBe('Dr Static');
    await login.fetch('/pacs/dicom-web/studies', { headers: { Accept: 'application/dicom+json' } });
    expect(seen[0].headers).toEqual({ Accept: 'application/dicom+json' });
  });

  it("with oidc, ChestAid's PACS requests carry the user's Authorization header beside their own", async () => {
    const seen: RequestInit[] = [];
    const fetch = async (_input: string, init?: RequestInit) => {
      seen.push(init ?? {});
      return new Response('');
    };
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const login = wireLogin({
      appConfig: { oidc: [{}] },
      services: { userAuthenticationService: auth(admin, { Authorization: 'Bearer abc.def.ghi' }) },
      readerName: 'Dr Static',
      settings: DEFAULT_LOGIN,
      fetch,
    });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/readerName "Dr Static" is not used/));
    warn.mockRestore();
    await login.fetch('/pacs/dicom-web/studies', { method: 'POST', headers: { Accept: 'application/dicom+json' } });
    expect(seen[0]).toEqual({ method: 'POST', headers: { Accept: 'application/dicom+json', Authorization: 'Bearer abc.def.ghi' } });
  });
});
