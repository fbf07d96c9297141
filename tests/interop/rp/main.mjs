// One relying-party step per run: ``node rp/main.mjs <library> <operation>`` reads one JSON object on
// stdin and writes one JSON line on stdout:
//
//   {"ok": true, "result": {...}}                 the library call succeeded
//   {"ok": false, "error": {name, code, ...}}     the library (or the provider) refused; exit code 1
//
// Anything else (a crash, a hang cut short by the watchdog) exits with another code and stderr says why.
// State between steps (PKCE verifier, state, nonce, tokens) travels in the JSON; private keys stay in
// files the scripts write themselves.

import { describeError, generateKeyFiles } from './common.mjs'
import * as oauth4webapiRp from './oauth4webapi.mjs'
import * as openidClientRp from './openid_client.mjs'

const WATCHDOG_MS = 45_000
const LIBRARIES = { 'openid-client': openidClientRp, oauth4webapi: oauth4webapiRp }

function emit(payload, exitCode) {
  process.stdout.write(`${JSON.stringify(payload)}\n`, () => process.exit(exitCode))
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const text = Buffer.concat(chunks).toString('utf8').trim()
  return text ? JSON.parse(text) : {}
}

async function main() {
  const [libraryName, operation] = process.argv.slice(2)
  const watchdog = setTimeout(() => {
    process.stderr.write(`rp: ${libraryName} ${operation} did not finish within ${WATCHDOG_MS} ms\n`)
    process.exit(3)
  }, WATCHDOG_MS)
  watchdog.unref()

  const input = await readStdin()
  let run
  if (operation === 'keygen') {
    run = generateKeyFiles
  } else {
    const library = LIBRARIES[libraryName]
    if (!library) throw new Error(`unknown library ${libraryName}; expected one of ${Object.keys(LIBRARIES)}`)
    run = library.operations[operation]
    if (!run) throw new Error(`${libraryName} has no operation ${operation}`)
  }
  let result
  try {
    result = await run(input)
  } catch (err) {
    emit({ ok: false, library: libraryName, version: LIBRARIES[libraryName]?.version, error: describeError(err) }, 1)
    return
  }
  emit({ ok: true, library: libraryName, version: LIBRARIES[libraryName]?.version, result }, 0)
}

main().catch((err) => {
  process.stderr.write(`rp: ${err?.stack ?? err}\n`)
  process.exit(2)
})
