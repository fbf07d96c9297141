// Shared plumbing of the relying-party scripts: keys on disk, JSON-safe errors, request timeouts.
//
// Private keys are generated here with WebCrypto and kept in files the Python side only passes
// around by path; the Python side never reads them.

import { createHash, webcrypto } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'

const { subtle } = webcrypto

/** Every HTTP request a library makes is aborted after this long. */
export const REQUEST_TIMEOUT_MS = 20_000

const ES256 = { name: 'ECDSA', namedCurve: 'P-256' }

function b64url(bytes) {
  return Buffer.from(bytes).toString('base64url')
}

/** RFC 7638 JWK thumbprint of an EC public key (what the provider binds a DPoP token to). */
export function jwkThumbprint(jwk) {
  if (jwk.kty !== 'EC') throw new Error(`thumbprint: unsupported kty ${jwk.kty}`)
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return b64url(createHash('sha256').update(canonical).digest())
}

function publicPart(jwk) {
  const { kty, crv, x, y } = jwk
  return { kty, crv, x, y }
}

/**
 * A fresh ES256 key pair. The private JWK goes to ``privatePath`` (mode 0600); with ``jwksPath``
 * the public key is also written there as a JWK Set, ready for ``genba admin create-client --jwks @file``.
 */
export async function generateKeyFiles({ private_path: privatePath, jwks_path: jwksPath, use }) {
  if (!privatePath) throw new Error('keygen: private_path is required')
  const pair = await subtle.generateKey(ES256, true, ['sign', 'verify'])
  const privateJwk = await subtle.exportKey('jwk', pair.privateKey)
  const publicJwk = publicPart(await subtle.exportKey('jwk', pair.publicKey))
  const kid = jwkThumbprint(publicJwk)
  const published = { ...publicJwk, kid, alg: 'ES256', ...(use ? { use } : {}) }
  await writeFile(privatePath, JSON.stringify({ ...privateJwk, kid, alg: 'ES256' }), { mode: 0o600 })
  if (jwksPath) await writeFile(jwksPath, JSON.stringify({ keys: [published] }))
  return { public_jwk: published, thumbprint: kid }
}

async function readPrivateJwk(path) {
  const jwk = JSON.parse(await readFile(path, 'utf8'))
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d) throw new Error(`${path}: not a P-256 private JWK`)
  return jwk
}

/** ``{ key, kid }`` for ``PrivateKeyJwt`` client authentication (non-extractable signing key). */
export async function loadClientKey(path) {
  const jwk = await readPrivateJwk(path)
  const { kid, alg, ...material } = jwk
  const key = await subtle.importKey('jwk', { ...material, key_ops: ['sign'] }, ES256, false, ['sign'])
  return { key, kid }
}

/** A ``CryptoKeyPair`` for DPoP proofs: the private key signs, the public key goes in the proof's ``jwk`` header. */
export async function loadDPoPKeyPair(path) {
  const jwk = await readPrivateJwk(path)
  const { kid, alg, ...material } = jwk
  const privateKey = await subtle.importKey('jwk', { ...material, key_ops: ['sign'] }, ES256, false, ['sign'])
  const publicKey = await subtle.importKey('jwk', { ...publicPart(material), key_ops: ['verify'] }, ES256, true, [
    'verify',
  ])
  return { privateKey, publicKey }
}

export function required(input, ...names) {
  for (const name of names) {
    if (input[name] === undefined || input[name] === null || input[name] === '') {
      throw new Error(`input: ${name} is required`)
    }
  }
}

function jsonSafe(value, depth = 0) {
  if (value === null || value === undefined) return value ?? null
  if (depth > 4) return String(value)
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  if (value instanceof Response) return { response_status: value.status }
  if (value instanceof URLSearchParams) return Object.fromEntries(value)
  if (value instanceof Error) return describeError(value, depth + 1)
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1))
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v, depth + 1)]))
  }
  return String(value)
}

/** Everything a test needs to tell one library error from another, as plain JSON. */
export function describeError(err, depth = 0) {
  if (!(err instanceof Error)) return { name: 'NonError', message: String(err) }
  const out = { name: err.name, message: err.message }
  for (const key of ['code', 'error', 'error_description', 'status']) {
    if (err[key] !== undefined) out[key] = jsonSafe(err[key], depth + 1)
  }
  if (err.cause !== undefined) out.cause = jsonSafe(err.cause, depth + 1)
  if (depth === 0 && err.stack) out.stack = err.stack.split('\n').slice(0, 8).join('\n')
  return out
}
