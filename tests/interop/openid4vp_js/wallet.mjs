// The holder side of OpenID4VP 1.0 played by independent npm implementations against Genba ID's gate:
// @openid4vc/openid4vp resolves the request by reference (request_uri -> signed request object with
// x5c, client_id prefix x509_san_dns), dcql selects the credentials, and the response is posted with
// direct_post. Presentations (SD-JWT+KB) are made by the Python holder between the two steps.
//
//   node wallet.mjs resolve   {link, root_pem, credentials: [SD-JWT, ...]}
//   node wallet.mjs respond   {request, vp_token, credentials_query?}
//
// JSON in on stdin; one JSON line out: {"ok": true, "result": ...} (exit 0) or {"ok": false, "error": ...}
// (exit 1). Gives up by itself after 45 s.

import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto'
import {
  createOpenid4vpAuthorizationResponse,
  parseOpenid4vpAuthorizationRequest,
  resolveOpenid4vpAuthorizationRequest,
  submitOpenid4vpAuthorizationResponse,
  validateOpenid4vpAuthorizationResponsePayload,
} from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { decodeSdJwtSync, getClaimsSync } from '@sd-jwt/decode'
import { DcqlPresentationResult, DcqlQuery } from 'dcql'

const TIMEOUT_MS = 45_000

// The test server is http://localhost:<port>; nothing else about the checks is relaxed.
setGlobalConfig({ allowInsecureUrls: true })

function b64urlDecode(text) {
  return Buffer.from(text, 'base64url')
}

function sha256(data) {
  return new Uint8Array(createHash('sha256').update(typeof data === 'string' ? Buffer.from(data) : data).digest())
}

const hasherSync = (data, alg) => {
  if (alg.toLowerCase() !== 'sha-256') throw new Error(`unsupported hash ${alg}`)
  return sha256(data)
}

/** The wallet's trust decision: the request object's x5c leaf must be certified by the pinned root. */
function callbacks(rootPem) {
  const root = new X509Certificate(rootPem)
  return {
    hash: (data, alg) => hasherSync(data, alg),
    fetch: (...args) => fetch(...args),
    getX509CertificateMetadata: (certificate) => {
      const leaf = new X509Certificate(Buffer.from(certificate, 'base64'))
      const names = (leaf.subjectAltName ?? '').split(',').map((n) => n.trim())
      return {
        sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
        sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
      }
    },
    verifyJwt: async (signer, { header, compact }) => {
      if (signer.method !== 'x5c' || header.alg !== 'ES256') return { verified: false }
      const leaf = new X509Certificate(Buffer.from(signer.x5c[0], 'base64'))
      const now = Date.now()
      const chained =
        leaf.checkIssued(root) &&
        leaf.verify(root.publicKey) &&
        Date.parse(leaf.validFrom) <= now &&
        now <= Date.parse(leaf.validTo)
      const [h, p, s] = compact.split('.')
      const signed = verifySignature(
        'sha256',
        Buffer.from(`${h}.${p}`),
        { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' },
        b64urlDecode(s),
      )
      const signerJwk = leaf.publicKey.export({ format: 'jwk' })
      return chained && signed ? { verified: true, signerJwk } : { verified: false, signerJwk }
    },
  }
}

/** An SD-JWT VC as dcql's input: every claim the given disclosures reveal. */
function asDcqlCredential(sdJwt) {
  const decoded = decodeSdJwtSync(sdJwt, hasherSync)
  const claims = getClaimsSync(decoded.jwt.payload, decoded.disclosures, hasherSync)
  return {
    credential_format: 'dc+sd-jwt',
    vct: claims.vct,
    claims,
    cryptographic_holder_binding: Boolean(decoded.kbJwt) || Boolean(claims.cnf),
  }
}

async function resolve({ link, root_pem, credentials }) {
  const parsed = parseOpenid4vpAuthorizationRequest({ authorizationRequest: link })
  const resolved = await resolveOpenid4vpAuthorizationRequest({
    authorizationRequestPayload: parsed.params,
    callbacks: callbacks(root_pem),
  })
  const query = DcqlQuery.parse(resolved.dcql.query)
  DcqlQuery.validate(query)
  const result = DcqlQuery.query(query, credentials.map(asDcqlCredential))
  const selection = {}
  for (const [id, match] of Object.entries(result.credential_matches)) {
    selection[id] = match.success ? match.valid_credentials.map((c) => c.input_credential_index) : []
  }
  return {
    provided: parsed.type,
    request: resolved.authorizationRequestPayload,
    client: {
      prefix: resolved.client.prefix,
      identifier: resolved.client.identifier,
      effective: resolved.client.effective,
    },
    jar: { send_by: resolved.jar?.sendBy, signer: resolved.jar?.signer?.method },
    version: resolved.version,
    can_be_satisfied: result.can_be_satisfied,
    selection,
    query,
  }
}

async function respond({ request, vp_token }) {
  // The verifier's side first: our direct_post body, checked against our own request's DCQL query.
  const response = await createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token },
    callbacks: {},
  })
  const validated = validateOpenid4vpAuthorizationResponsePayload({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
  })
  const query = DcqlQuery.parse(request.dcql_query)
  const presented = Object.fromEntries(
    Object.entries(validated.dcql.presentations).map(([id, list]) => [id, list.map(asDcqlCredential)]),
  )
  const presentation = DcqlPresentationResult.fromDcqlPresentation(presented, { dcqlQuery: query })
  DcqlPresentationResult.validate(presentation)
  const submitted = await submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    callbacks: { fetch: (...args) => fetch(...args) },
  })
  return {
    dcql_type: validated.type,
    presentation_can_be_satisfied: presentation.can_be_satisfied,
    response_mode: submitted.responseMode,
    status: submitted.response.status,
    body: await submitted.response.text(),
    state_sent: response.authorizationResponsePayload.state,
  }
}

function describe(error) {
  return {
    name: error?.name,
    message: String(error?.message ?? error),
    error: error?.errorResponse?.error,
    error_description: error?.errorResponse?.error_description,
    cause: error?.cause ? String(error.cause?.message ?? error.cause) : undefined,
  }
}

async function main() {
  const [operation] = process.argv.slice(2)
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const steps = { resolve, respond }
  if (!steps[operation]) throw new Error(`unknown operation ${operation}`)
  return steps[operation](input)
}

const timer = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: { message: 'timed out' } })}\n`)
  process.exit(1)
}, TIMEOUT_MS)

main().then(
  (result) => {
    clearTimeout(timer)
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`)
    process.exit(0)
  },
  (error) => {
    clearTimeout(timer)
    process.stdout.write(`${JSON.stringify({ ok: false, error: describe(error) })}\n`)
    process.exit(1)
  },
)
