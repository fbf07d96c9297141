// The relying party built on oauth4webapi v3 (OpenID Certified low-level library by panva): every
// request goes through the library's request function and every response through its process*
// function, which is where the protocol validation lives.

import { readFileSync } from 'node:fs'

import * as oauth from 'oauth4webapi'

import { REQUEST_TIMEOUT_MS, loadClientKey, loadDPoPKeyPair, required } from './common.mjs'

export const version = JSON.parse(
  readFileSync(new URL('../node_modules/oauth4webapi/package.json', import.meta.url), 'utf8'),
).version

/** Options for every HTTP request: plain-http localhost issuer in tests, and a timeout. */
function http(extra = {}) {
  return { [oauth.allowInsecureRequests]: true, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...extra }
}

async function clientAuthentication(auth = {}) {
  switch (auth.method) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(auth.client_secret)
    case 'client_secret_post':
      return oauth.ClientSecretPost(auth.client_secret)
    case 'none':
      return oauth.None()
    case 'private_key_jwt':
      required(auth, 'private_key_file')
      return oauth.PrivateKeyJwt(await loadClientKey(auth.private_key_file))
    default:
      throw new Error(`oauth4webapi: unsupported client authentication ${auth.method}`)
  }
}

/**
 * Discovery (OIDC Discovery 1.0 §4, or RFC 8414 §3 with ``discovery_algorithm: 'oauth2'``):
 * processDiscoveryResponse checks the issuer is the one asked for.
 */
async function configure(input) {
  required(input, 'issuer', 'client_id')
  const issuer = new URL(input.issuer)
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, http({ algorithm: input.discovery_algorithm ?? 'oidc' })),
  )
  const clientMetadata = { client_id: input.client_id }
  const clientAuth = await clientAuthentication(input.client_auth)
  const DPoP = input.dpop_key_file ? oauth.DPoP(clientMetadata, await loadDPoPKeyPair(input.dpop_key_file)) : undefined
  return { as, client: clientMetadata, clientAuth, DPoP }
}

/** One retry when the provider asks for a DPoP nonce (RFC 9449 §8), as the library's docs show. */
async function withDPoPNonceRetry(DPoP, attempt) {
  try {
    return await attempt()
  } catch (err) {
    if (DPoP && oauth.isDPoPNonceError(err)) return attempt()
    throw err
  }
}

function tokenSet(result) {
  const { access_token, token_type, expires_in, refresh_token, scope, id_token } = result
  return { access_token, token_type, expires_in, refresh_token, scope, id_token }
}

export const operations = {
  async discover(input) {
    const { as } = await configure(input)
    return { metadata: as }
  },

  /** Authorization request (OIDC Core §3.1.2.1) with PKCE S256, state and nonce; optionally pushed (RFC 9126). */
  async begin(input) {
    required(input, 'redirect_uri', 'scope')
    const { as, client, clientAuth, DPoP } = await configure(input)
    const checks = {
      redirect_uri: input.redirect_uri,
      code_verifier: oauth.generateRandomCodeVerifier(),
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
    }
    const parameters = {
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: input.redirect_uri,
      scope: input.scope,
      code_challenge: await oauth.calculatePKCECodeChallenge(checks.code_verifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
      ...(input.extra_parameters ?? {}),
    }
    const url = new URL(as.authorization_endpoint)
    if (input.par) {
      const pushed = await withDPoPNonceRetry(DPoP, async () =>
        oauth.processPushedAuthorizationResponse(
          as,
          client,
          await oauth.pushedAuthorizationRequest(as, client, clientAuth, parameters, http({ DPoP })),
        ),
      )
      url.searchParams.set('client_id', client.client_id)
      url.searchParams.set('request_uri', pushed.request_uri)
    } else {
      for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value)
    }
    return { authorization_url: url.href, checks }
  },

  /** Authorization response validation (state, iss per RFC 9207) and the code exchange (OIDC Core §3.1.3). */
  async callback(input) {
    required(input, 'callback_url', 'checks')
    const { as, client, clientAuth, DPoP } = await configure(input)
    const { checks } = input
    const params = oauth.validateAuthResponse(as, client, new URL(input.callback_url), checks.state)
    let response
    const result = await withDPoPNonceRetry(DPoP, async () => {
      response = await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        checks.redirect_uri,
        checks.code_verifier,
        http({ DPoP }),
      )
      return oauth.processAuthorizationCodeResponse(as, client, response, {
        expectedNonce: checks.nonce,
        requireIdToken: true,
      })
    })
    // Not required over TLS; done to prove the ID token signature verifies with the published JWKS.
    await oauth.validateApplicationLevelSignature(as, response, http())
    return { tokens: tokenSet(result), id_token_claims: oauth.getValidatedIdTokenClaims(result) }
  },

  /** UserInfo request (OIDC Core §5.3); processUserInfoResponse checks ``sub`` against the ID token's. */
  async userinfo(input) {
    required(input, 'access_token', 'expected_sub')
    const { as, client, DPoP } = await configure(input)
    const userinfo = await withDPoPNonceRetry(DPoP, async () =>
      oauth.processUserInfoResponse(
        as,
        client,
        input.expected_sub,
        await oauth.userInfoRequest(as, client, input.access_token, http({ DPoP })),
      ),
    )
    return { userinfo }
  },

  /** Refresh (RFC 6749 §6, OIDC Core §12); processRefreshTokenResponse validates the new ID token. */
  async refresh(input) {
    required(input, 'refresh_token')
    const { as, client, clientAuth, DPoP } = await configure(input)
    const result = await withDPoPNonceRetry(DPoP, async () =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, input.refresh_token, http({ DPoP })),
      ),
    )
    return { tokens: tokenSet(result), id_token_claims: oauth.getValidatedIdTokenClaims(result) ?? null }
  },

  /** Token introspection (RFC 7662). */
  async introspect(input) {
    required(input, 'token')
    const { as, client, clientAuth } = await configure(input)
    const additionalParameters = input.token_type_hint ? { token_type_hint: input.token_type_hint } : undefined
    const response = await oauth.introspectionRequest(as, client, clientAuth, input.token, http({ additionalParameters }))
    return { introspection: await oauth.processIntrospectionResponse(as, client, response) }
  },

  /** Token revocation (RFC 7009). */
  async revoke(input) {
    required(input, 'token')
    const { as, client, clientAuth } = await configure(input)
    const additionalParameters = input.token_type_hint ? { token_type_hint: input.token_type_hint } : undefined
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, input.token, http({ additionalParameters })),
    )
    return { revoked: true }
  },

  /**
   * The access token checked the way a resource server would (RFC 9068 JWT profile, RFC 6750 Bearer):
   * signature with the provider's JWKS, ``typ`` at+jwt, iss, exp, aud and the required claims.
   */
  async validate_access_token(input) {
    required(input, 'access_token', 'audience')
    const { as } = await configure(input)
    const request = new Request(new URL('/resource', input.issuer), {
      headers: { authorization: `Bearer ${input.access_token}` },
    })
    return { claims: await oauth.validateJwtAccessToken(as, request, input.audience, http()) }
  },
}
