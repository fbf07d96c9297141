// The peer of `python -m bench peer`: node-oidc-provider 9 configured as close to Genba ID as it allows.
//
//   node server.mjs CONFIG.json        (written by bench/peer.py; the listening socket is inherited as an fd)
//
// - One confidential client (client_secret_basic) with authorization_code and client_credentials,
//   one registered redirect URI, PKCE required, ID tokens signed ES256 (Genba's default).
// - Access tokens: client_credentials with `resource=<config.resource>` gets an ES256 JWT (RFC 9068),
//   like Genba's; without a resource it gets an opaque token, the only kind oidc-provider introspects.
//   Authorization-code tokens have no audience and are opaque: its userinfo endpoint refuses others.
// - Lifetimes as Genba's defaults: access tokens 10 minutes, codes 60 s.
// - In-memory adapter (the library's default): nothing is written to a database.
// - Interactions written here instead of devInteractions, doing the work Genba's sign-in does:
//   password checked with argon2id against the same PHC hash (m=19 MiB, t=2, p=1 unless the hash
//   says otherwise), then a 6-digit TOTP (RFC 6238, SHA-1, 30 s, one step of drift, a step accepted
//   once per account), then a consent page; no CSRF token (oidc-provider binds the interaction to a
//   cookie). Accounts live in memory (username, TOTP secret, subject, profile claims).
import { createHash, createHmac, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

import argon2 from 'argon2';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const STEP = 30;
const PROFILE = {
  name: '試験 太郎', family_name: '試験', given_name: '太郎', gender: 'unspecified', birthdate: '1990-01-01',
};

const accounts = new Map(); // username -> {sub, secret (Buffer), lastStep}
const subjects = new Map(); // sub -> username
for (const [username, secret, sub] of JSON.parse(readFileSync(config.accounts_file, 'utf8'))) {
  accounts.set(username, { sub, secret: base32(secret), lastStep: -1 });
  subjects.set(sub, username);
}

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let value = 0; const out = [];
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(char); bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

function hotp(key, counter) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', key).update(message).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function totpStep(account, code) {
  const now = Math.floor(Date.now() / 1000 / STEP);
  let matched = null;
  for (let step = now - 1; step <= now + 1; step += 1) {
    const ok = timingSafeEqual(Buffer.from(hotp(account.secret, step)), Buffer.from(String(code).padEnd(6).slice(0, 6)));
    if (ok && matched === null) matched = step;
  }
  return matched !== null && matched > account.lastStep ? matched : null;
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig' };
const thumbprintInput = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }); // RFC 7638
jwk.kid = createHash('sha256').update(thumbprintInput).digest('base64url');
const [client] = config.clients;

const provider = new Provider(config.issuer, {
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: [client.redirect_uri],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [config.cookie_key] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'family_name', 'given_name', 'gender', 'birthdate'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: (_ctx, caller, token) => token.clientId === caller.clientId },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => false,
      getResourceServerInfo: () => ({
        scope: 'api', audience: config.resource, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 900, Session: 43200, Grant: 43200 },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx, sub) => (subjects.has(sub) ? { accountId: sub, claims: () => ({ sub, ...PROFILE }) } : undefined),
});

const pendingSecondFactor = new Map(); // interaction uid -> username (password accepted, TOTP awaited)

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function page(ctx, title, action, fields, button) {
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>${title}</title></head><body>
<h1>${title}</h1><form method="post" action="${action}">${fields}${button}</form></body></html>`;
}

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|otp|confirm))?$/.exec(ctx.path);
  if (!match) return next();
  const [, uid, step] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const { prompt, params, session } = details;
  if (ctx.method === 'GET' && !step) {
    if (prompt.name === 'login') {
      return page(ctx, 'Sign in', `/interaction/${uid}/login`,
        '<input name="username" autocomplete="username"><input name="password" type="password">', '<button>Next</button>');
    }
    return page(ctx, `Allow ${params.client_id}?`, `/interaction/${uid}/confirm`, `<p>${params.scope}</p>`,
      '<button name="decision" value="approve">Allow</button>');
  }
  if (ctx.method === 'GET' && step === 'otp' && pendingSecondFactor.has(uid)) {
    return page(ctx, 'One-time code', `/interaction/${uid}/otp`, '<input name="otp" inputmode="numeric">', '<button>Sign in</button>');
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const form = await readForm(ctx.req);
  if (step === 'login' && prompt.name === 'login') {
    const account = accounts.get(form.username ?? '');
    if (!account || !(await argon2.verify(config.password_hash, form.password ?? ''))) ctx.throw(401, 'wrong username or password');
    pendingSecondFactor.set(uid, form.username);
    return ctx.redirect(`/interaction/${uid}/otp`);
  }
  if (step === 'otp' && prompt.name === 'login' && pendingSecondFactor.has(uid)) {
    const account = accounts.get(pendingSecondFactor.get(uid));
    const matched = totpStep(account, form.otp ?? '');
    if (matched === null) ctx.throw(401, 'wrong or replayed code');
    account.lastStep = matched;
    pendingSecondFactor.delete(uid);
    const result = { login: { accountId: account.sub, amr: ['pwd', 'otp'] } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  if (step === 'confirm' && prompt.name === 'consent' && form.decision === 'approve') {
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const result = { consent: { grantId: await grant.save() } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  }
  return ctx.throw(400, 'unexpected interaction step');
});

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen({ fd: config.fd }, () => process.stdout.write(`listening on fd ${config.fd}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
