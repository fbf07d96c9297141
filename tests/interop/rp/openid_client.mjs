// The relying party built on openid-client v6 (OpenID Certified RP library by panva), used as its
// documentation shows. Every operation starts with discovery, as a fresh RP process would.

import { readFileSync } from 'node:fs'

import * as client from 'openid-client'

import { loadClientKey, loadDPoPKeyPair, required } from './common.mjs'

export const version = JSON.parse(
  readFileSync(new URL('../node_modules/openid-client/package.json', import.meta.url), 'utf8'),
).version

function clientAuthentication(auth = {}) {
  switch (auth.method) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(auth.client_secret)
    case 'client_secret_post':
      return client.ClientSecretPost(auth.client_secret)
    case 'none':
      return client.None()
    case 'private_key_jwt':
      return null // needs the key: see configure()
    default:
      throw new Error(`openid-client: unsupported client authentication ${auth.method}`)
  }
}

/**
 * Discovery (OIDC Discovery 1.0 §4, or RFC 8414 §3 with ``discovery_algorithm: 'oauth2'``) and the
 * client configuration every other operation uses.
 */
async function configure(input) {
  required(input, 'issuer', 'client_id')
  let auth = clientAuthentication(input.client_auth)
  if (auth === null) {
    required(input.client_auth, 'private_key_file')
    auth = client.PrivateKeyJwt(await loadClientKey(input.client_auth.private_key_file))
  }
  const config = await client.discovery(new URL(input.issuer), input.client_id, undefined, auth, {
    // http://localhost issuer in tests; enableNonRepudiationChecks verifies ID token signatures
    // against the provider's jwks_uri (not required over TLS, done here to prove the JWKS interoperates).
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    algorithm: input.discovery_algorithm ?? 'oidc',
    timeout: 20,
  })
  return config
}

async function dpopOptions(config, input) {
  if (!input.dpop_key_file) return {}
  return { DPoP: client.getDPoPHandle(config, await loadDPoPKeyPair(input.dpop_key_file)) }
}

function tokenSet(tokens) {
  const { access_token, token_type, expires_in, refresh_token, scope, id_token } = tokens
  return { access_token, token_type, expires_in, refresh_token, scope, id_token }
}

export const operations = {
  async discover(input) {
    const config = await configure(input)
    return { metadata: config.serverMetadata() }
  },

  /** Authorization request (OIDC Core §3.1.2.1) with PKCE S256, state and nonce; optionally pushed (RFC 9126). */
  async begin(input) {
    required(input, 'redirect_uri', 'scope')
    const config = await configure(input)
    const checks = {
      redirect_uri: input.redirect_uri,
      code_verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
    }
    const parameters = {
      redirect_uri: input.redirect_uri,
      scope: input.scope,
      code_challenge: await client.calculatePKCECodeChallenge(checks.code_verifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
      ...(input.extra_parameters ?? {}),
    }
    const url = input.par
      ? await client.buildAuthorizationUrlWithPAR(config, parameters, await dpopOptions(config, input))
      : client.buildAuthorizationUrl(config, parameters)
    return { authorization_url: url.href, checks }
  },

  /** Authorization response validation (state, iss per RFC 9207) and the code exchange (OIDC Core §3.1.3). */
  async callback(input) {
    required(input, 'callback_url', 'checks')
    const config = await configure(input)
    const { checks } = input
    const tokens = await client.authorizationCodeGrant(
      config,
      new URL(input.callback_url),
      {
        pkceCodeVerifier: checks.code_verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      },
      undefined,
      await dpopOptions(config, input),
    )
    return { tokens: tokenSet(tokens), id_token_claims: tokens.claims() }
  },

  /** UserInfo request (OIDC Core §5.3); the library checks ``sub`` against the ID token's. */
  async userinfo(input) {
    required(input, 'access_token', 'expected_sub')
    const config = await configure(input)
    const userinfo = await client.fetchUserInfo(
      config,
      input.access_token,
      input.expected_sub,
      await dpopOptions(config, input),
    )
    return { userinfo }
  },

  /** Refresh (RFC 6749 §6, OIDC Core §12); the library validates the new ID token. */
  async refresh(input) {
    required(input, 'refresh_token')
    const config = await configure(input)
    const tokens = await client.refreshTokenGrant(
      config,
      input.refresh_token,
      undefined,
      await dpopOptions(config, input),
    )
    return { tokens: tokenSet(tokens), id_token_claims: tokens.claims() ?? null }
  },

  /** Token introspection (RFC 7662). */
  async introspect(input) {
    required(input, 'token')
    const config = await configure(input)
    const parameters = input.token_type_hint ? { token_type_hint: input.token_type_hint } : undefined
    return { introspection: await client.tokenIntrospection(config, input.token, parameters) }
  },

  /** Token revocation (RFC 7009). */
  async revoke(input) {
    required(input, 'token')
    const config = await configure(input)
    const parameters = input.token_type_hint ? { token_type_hint: input.token_type_hint } : undefined
    await client.tokenRevocation(config, input.token, parameters)
    return { revoked: true }
  },
}
