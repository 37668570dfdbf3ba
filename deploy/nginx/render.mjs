#!/usr/bin/env node
/**
 * Writes the generated parts of ChestAid's nginx configuration.
 *
 *   node deploy/nginx/render.mjs csp <viewer root> [--oidc-authority URL]
 *       prints chestaid-csp.conf for the index.html in <viewer root> (its inline scripts allowed by
 *       their hashes; with a login, fetches to the OpenID provider allowed): re-run it whenever the
 *       viewer is updated
 *   node deploy/nginx/render.mjs standalone --prefix DIR --root DIR --pacs HOST:PORT [--listen ADDR:PORT]
 *                                           [--auth HOST:PORT --oidc-authority URL]
 *       writes DIR/conf/nginx.conf: a complete configuration for nginx run as a plain process
 *       (`nginx -p DIR -c conf/nginx.conf -e DIR/logs/error.log`), without root, on plain HTTP
 *       (loopback only: a secure context off localhost needs TLS, see docs/deploying.md). With
 *       --auth, /pacs/ needs a valid access token (chestaid-pacs-auth.conf, the token verifier
 *       deploy/auth/verifier.mjs listening on HOST:PORT); without it, no login (a trial only).
 *
 * The static parts (chestaid-http.conf, chestaid-server.conf, chestaid-pacs-proxy.conf) are used
 * as they are; a site copies them to /etc/nginx/chestaid/ and writes its server block as in
 * site.conf.example.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const { contentSecurityPolicy } = createRequire(import.meta.url)('../policy.cjs');
export const SNIPPETS = ['chestaid-http.conf', 'chestaid-server.conf', 'chestaid-pacs-proxy.conf'];
export const MIME_TYPES = '/etc/nginx/mime.types';
/** The login's snippet: copied as it is with --auth, replaced by a note without. */
export const AUTH_SNIPPET = 'chestaid-pacs-auth.conf';
const NO_LOGIN = `# Written by deploy/nginx/render.mjs without --auth: /pacs/ needs no login. For a trial on
# loopback only; a hospital uses the committed chestaid-pacs-auth.conf (docs/deploying.md#login).
`;

/** chestaid-csp.conf for the viewer whose index.html is in `root`. */
export function cspConf(root, { oidcAuthority = null } = {}) {
  const csp = contentSecurityPolicy(readFileSync(join(root, 'index.html'), 'utf8'), { oidcAuthority });
  if (/["\\]/.test(csp)) throw new Error(`the CSP cannot be written into an nginx string: ${csp}`);
  return `# Written by deploy/nginx/render.mjs for ${join(root, 'index.html')}; re-run it when the viewer changes.\nmap $host $chestaid_csp {\n    default "${csp}";\n}\n`;
}

/** A complete nginx.conf under `prefix` for a plain nginx process; returns its path. */
export function writeStandalone({ prefix, root, pacs, listen = '127.0.0.1:8080', pacsRoot = '/dicom-web', auth = null, oidcAuthority = null }) {
  if (auth && !oidcAuthority) throw new Error('render.mjs: --auth needs --oidc-authority (the viewer fetches its tokens there)');
  for (const dir of ['conf/chestaid', 'logs', 'temp']) mkdirSync(join(prefix, dir), { recursive: true });
  for (const file of SNIPPETS) copyFileSync(join(HERE, file), join(prefix, 'conf/chestaid', file));
  if (auth) copyFileSync(join(HERE, AUTH_SNIPPET), join(prefix, 'conf/chestaid', AUTH_SNIPPET));
  else writeFileSync(join(prefix, 'conf/chestaid', AUTH_SNIPPET), NO_LOGIN);
  writeFileSync(join(prefix, 'conf/chestaid/chestaid-csp.conf'), cspConf(root, { oidcAuthority }));
  const temp = name => join(prefix, 'temp', name);
  const conf = `# Written by deploy/nginx/render.mjs: ChestAid's viewer on ${listen}, plain HTTP, for trials and tests.
worker_processes 1;
pid ${join(prefix, 'logs/nginx.pid')};
error_log ${join(prefix, 'logs/error.log')} warn;
events {
    worker_connections 256;
}
http {
    include ${MIME_TYPES};
    default_type application/octet-stream;
    access_log ${join(prefix, 'logs/access.log')};
    client_body_temp_path ${temp('client_body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};
    sendfile on;

    include chestaid/chestaid-http.conf;

    upstream chestaid_pacs {
        server ${pacs};
        keepalive 8;
    }
${
  auth
    ? `
    upstream chestaid_auth {
        server ${auth};
        keepalive 8;
    }
`
    : ''
}
    server {
        listen ${listen};
        server_name _;
        root ${resolve(root)};
        set $chestaid_pacs_root ${pacsRoot};
        include chestaid/chestaid-server.conf;
    }
}
`;
  const path = join(prefix, 'conf/nginx.conf');
  writeFileSync(path, conf);
  return path;
}

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at === -1) {
    if (fallback === undefined) throw new Error(`render.mjs: ${name} is required`);
    return fallback;
  }
  return args[at + 1];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'csp' && args[0]) {
    process.stdout.write(cspConf(args[0], { oidcAuthority: option(args, '--oidc-authority', null) }));
  } else if (command === 'standalone') {
    const path = writeStandalone({
      prefix: resolve(option(args, '--prefix')),
      root: resolve(option(args, '--root')),
      pacs: option(args, '--pacs'),
      listen: option(args, '--listen', '127.0.0.1:8080'),
      pacsRoot: option(args, '--pacs-root', '/dicom-web'),
      auth: option(args, '--auth', null),
      oidcAuthority: option(args, '--oidc-authority', null),
    });
    console.log(path);
  } else {
    console.error(
      'usage: render.mjs csp <viewer root> [--oidc-authority URL] | render.mjs standalone --prefix DIR --root DIR --pacs HOST:PORT [--listen ADDR:PORT] [--pacs-root PATH] [--auth HOST:PORT --oidc-authority URL]',
    );
    process.exit(2);
  }
}
