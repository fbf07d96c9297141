// Independent implementations checking Genba ID's credential issuer, one step per run:
//
//   node main.mjs <operation>    reads one JSON object on stdin, writes one JSON line on stdout:
//   {"ok": true, "result": {...}} or {"ok": false, "error": {...}} (exit code 1)
//
// Operations:
//   verify   @sd-jwt/sd-jwt-vc verifies an SD-JWT VC presentation (ES256 issuer key given as a JWK,
//            key binding required: nonce, aud, iat, sd_hash, cnf) and its status with the status list
//            JWT passed in (offline: nothing is fetched).
//   status   @sd-jwt/jwt-status-list decodes a status list JWT and reads the given indices.
//   issue    @openid4vc/openid4vci drives the pre-authorized code flow against a real server: resolve
//            the offer by reference, issuer and authorization server metadata, token request with
//            tx_code, nonce, credential request with a jwt proof signed by a P-256 key made here;
//            then presents the credential with key binding (the same key) and verifies it with
//            @sd-jwt/sd-jwt-vc, fetching the issuer key (/.well-known/jwt-vc-issuer) and the status list.
//   token    only the token request (for refusals such as a wrong tx_code).

import { createHash, randomBytes, webcrypto } from 'node:crypto'
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs'
import { StatusList, getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'

const WATCHDOG_MS = 45_000
const { subtle } = webcrypto
const P256 = { name: 'ECDSA', namedCurve: 'P-256' }

function b64url(bytes) {
  return Buffer.from(bytes).toString('base64url')
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
}

async function issuerVerifier(jwk) {
  return ES256.getVerifier({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y })
}

/** The KB-JWT is signed by the key in the credential's cnf.jwk (RFC 9901 §7.3 step 5.1). */
async function kbVerifier(data, signature, payload) {
  const jwk = payload?.cnf?.jwk
  if (!jwk) throw new Error('the credential has no cnf.jwk')
  return (await ES256.getVerifier(jwk))(data, signature)
}

function sdjwtInstance({ issuerJwk, statusListJwt, statuses, signer, kbSigner }) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    signAlg: ES256.alg,
    kbSignAlg: ES256.alg,
    signer,
    kbSigner,
    verifier: issuerJwk ? async (data, sig) => (await issuerVerifier(issuerJwk))(data, sig) : undefined,
    kbVerifier,
    statusListFetcher: statusListJwt ? async () => statusListJwt : undefined,
    statusValidator: async (status) => {
      statuses.push(status)
    },
  })
}

/** Checks the library leaves to the application: aud and iat of the KB-JWT (RFC 9901 §7.3 5.5, 5.6). */
function checkKb(kb, { aud, now, skew }) {
  if (!kb) throw new Error('no key binding JWT')
  if (kb.payload.aud !== aud) throw new Error(`KB-JWT aud ${kb.payload.aud} is not ${aud}`)
  if (Math.abs(now - kb.payload.iat) > skew) throw new Error(`KB-JWT iat ${kb.payload.iat} is outside ${now}±${skew}`)
}

async function verify(input) {
  const statuses = []
  const instance = sdjwtInstance({ issuerJwk: input.issuer_jwk, statusListJwt: input.status_list_jwt, statuses })
  const result = await instance.verify(input.presentation, {
    keyBindingNonce: input.nonce,
    currentDate: input.now,
    skewSeconds: input.skew ?? 60,
    requiredClaimKeys: input.required_claims ?? [],
  })
  checkKb(result.kb, { aud: input.aud, now: input.now, skew: input.skew ?? 60 })
  const claims = await instance.getClaims(input.presentation)
  return { header: result.header, claims, kb: result.kb.payload, statuses }
}

async function status(input) {
  const list = getListFromStatusListJWT(input.status_list_jwt)
  const payload = decodePart(input.status_list_jwt.split('.')[1])
  const again = StatusList.decompressStatusList(payload.status_list.lst, payload.status_list.bits)
  const values = {}
  for (const idx of input.indices) {
    const a = list.getStatus(idx)
    const b = again.getStatus(idx)
    if (a !== b) throw new Error(`two decoders disagree at ${idx}: ${a} != ${b}`)
    values[idx] = a
  }
  return { bits: list.getBitsPerStatus(), size: list.statusList.length, values }
}

// -- the OpenID4VCI wallet -------------------------------------------------------------------------

function compactSign(header, payload, privateKey) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  return subtle
    .sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, Buffer.from(input))
    .then((sig) => `${input}.${b64url(new Uint8Array(sig))}`)
}

async function newHolderKey() {
  const pair = await subtle.generateKey(P256, true, ['sign', 'verify'])
  const jwk = await subtle.exportKey('jwk', pair.publicKey)
  const privateJwk = await subtle.exportKey('jwk', pair.privateKey)
  return { pair, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, privateJwk }
}

/**
 * ``fetch`` for the library. With ``patchMetadata`` the authorization server metadata gets the
 * ``*_endpoint_auth_signing_alg_values_supported`` entries RFC 8414 §2 requires next to
 * ``private_key_jwt``/``client_secret_jwt`` (Genba ID omits them: a known bug that the test without
 * the patch documents), so the rest of the flow can still be exercised.
 */
function walletFetch(patchMetadata) {
  if (!patchMetadata) return fetch
  return async (url, init) => {
    const response = await fetch(url, init)
    const path = new URL(String(url)).pathname
    if (!path.startsWith('/.well-known/oauth-authorization-server') || !response.ok) return response
    const metadata = await response.json()
    for (const endpoint of ['introspection', 'revocation']) {
      const methods = metadata[`${endpoint}_endpoint_auth_methods_supported`] ?? []
      const key = `${endpoint}_endpoint_auth_signing_alg_values_supported`
      if (methods.some((m) => m === 'private_key_jwt' || m === 'client_secret_jwt') && !metadata[key]) {
        metadata[key] = metadata.token_endpoint_auth_signing_alg_values_supported ?? ['ES256']
      }
    }
    return new Response(JSON.stringify(metadata), { status: response.status, headers: response.headers })
  }
}

function walletClient(holder, patchMetadata) {
  return new Openid4vciClient({
    callbacks: {
      fetch: walletFetch(patchMetadata),
      hash: (data, alg) => {
        if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported here`)
        return new Uint8Array(createHash('sha256').update(data).digest())
      },
      generateRandom: (length) => new Uint8Array(randomBytes(length)),
      clientAuthentication: clientAuthenticationAnonymous(),
      signJwt: async (signer, { header, payload }) => {
        if (signer.method !== 'jwk') throw new Error(`signer method ${signer.method} not supported here`)
        return { jwt: await compactSign(header, payload, holder.pair.privateKey), signerJwk: holder.publicJwk }
      },
    },
  })
}

async function token(input) {
  setGlobalConfig({ allowInsecureUrls: true }) // the test server is http://localhost:<port>
  const holder = await newHolderKey()
  const client = walletClient(holder, Boolean(input.patch_as_metadata))
  const credentialOffer = await client.resolveCredentialOffer(input.offer_link)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: input.tx_code,
  })
  return { credentialOffer, issuerMetadata, accessTokenResponse, client, holder }
}

async function issue(input) {
  const now = Math.floor(Date.now() / 1000) // a real server process: the real clock
  const { credentialOffer, issuerMetadata, accessTokenResponse, client, holder } = await token(input)
  const configurationId = input.configuration_id
  const { c_nonce } = await client.requestNonce({ issuerMetadata })
  const { jwt: proof } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
    nonce: c_nonce,
    issuedAt: new Date(now * 1000),
  })
  const { credentialResponse } = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [proof] },
  })
  const credential = credentialResponse.credentials[0].credential

  // Present with key binding, signed by the same Node key, and verify it the way a verifier that
  // resolves keys online would: the issuer key from /.well-known/jwt-vc-issuer, the status list by URI.
  const issuer = credentialOffer.credential_issuer
  const vcIssuer = await (await fetch(`${issuer}/.well-known/jwt-vc-issuer`)).json()
  const kid = decodePart(credential.split('.')[0]).kid
  const issuerJwk = vcIssuer.jwks.keys.find((k) => k.kid === kid)
  if (!issuerJwk) throw new Error(`no key ${kid} at ${issuer}/.well-known/jwt-vc-issuer`)
  const kbSigner = await ES256.getSigner(holder.privateJwk)
  const statuses = []
  const instance = sdjwtInstance({ issuerJwk, statuses, kbSigner })
  const frame = Object.fromEntries(input.reveal.map((name) => [name, true]))
  const presentation = await instance.present(credential, frame, {
    kb: { payload: { iat: now, aud: input.aud, nonce: input.nonce } },
  })
  const verified = await instance.verify(presentation, { keyBindingNonce: input.nonce, currentDate: now, skewSeconds: 60 })
  checkKb(verified.kb, { aud: input.aud, now, skew: 60 })
  return {
    offer: credentialOffer,
    credential_endpoint: issuerMetadata.credentialIssuer.credential_endpoint,
    authorization_servers: issuerMetadata.authorizationServers.map((s) => s.issuer),
    token_type: accessTokenResponse.token_type,
    authorization_details: accessTokenResponse.authorization_details,
    credential,
    notification_id: credentialResponse.notification_id,
    holder_jwk: holder.publicJwk,
    presentation,
    now,
    node_claims: await instance.getClaims(presentation),
    node_statuses: statuses,
  }
}

async function tokenOnly(input) {
  const { accessTokenResponse } = await token(input)
  return { token_type: accessTokenResponse.token_type }
}

function describeError(err) {
  const out = { name: err?.name, message: String(err?.message ?? err) }
  for (const key of ['errorResponse', 'response', 'credentialErrorResponseResult']) {
    const value = err?.[key]
    if (value && typeof value === 'object' && !(value instanceof Response)) out[key] = value
  }
  const seen = JSON.stringify(err, Object.getOwnPropertyNames(err ?? {}))
  if (seen) out.detail = seen.slice(0, 3000)
  return out
}

const OPERATIONS = { verify, status, issue, token: tokenOnly }

function emit(payload, exitCode) {
  process.stdout.write(`${JSON.stringify(payload)}\n`, () => process.exit(exitCode))
}

async function main() {
  const [operation] = process.argv.slice(2)
  const watchdog = setTimeout(() => {
    process.stderr.write(`wallet_js: ${operation} did not finish within ${WATCHDOG_MS} ms\n`)
    process.exit(3)
  }, WATCHDOG_MS)
  watchdog.unref()
  const run = OPERATIONS[operation]
  if (!run) throw new Error(`unknown operation ${operation}; expected one of ${Object.keys(OPERATIONS)}`)
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')
  let result
  try {
    result = await run(input)
  } catch (err) {
    emit({ ok: false, error: describeError(err) }, 1)
    return
  }
  emit({ ok: true, result }, 0)
}

main().catch((err) => {
  process.stderr.write(`wallet_js: ${err?.stack ?? err}\n`)
  process.exit(2)
})
