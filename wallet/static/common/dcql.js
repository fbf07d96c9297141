// @ts-check
/* Genba ID: the site requirements per kind of work (the server's are wallet/gate/requirements.py; the
 * Node tests compare the two) as DCQL queries, and DCQL claim matching (OpenID4VP 1.0 §6–7). */

import { COURSES, WORK_KINDS } from "./courses.js";

export const INSURED = ["enrolled", "exempt"];
const CARD_CLAIMS = ["technician_id", "name", "level", "level_colour"];
// the course names and the courses each kind of work needs: the one catalogue (common/courses.json),
// generated into ./courses.js, so the browser asks for the codes the certificate sources issue
export { COURSES, WORK_KINDS };
export const CARD_VCT = "ccus-technician-card";
export const CERTIFICATE_VCT = "skill-training-certificate";

/**
 * @typedef {{ path: (string | number)[], values?: unknown[] }} ClaimQuery
 * @typedef {{ id: string, format?: string, meta?: { vct_values?: string[] }, claims?: ClaimQuery[] }} CredentialQuery
 */

/**
 * @param {string} issuer
 * @returns {CredentialQuery}
 */
function cardQuery(issuer) {
  return {
    id: "ccus_card",
    format: "dc+sd-jwt",
    meta: { vct_values: [`${issuer}/vct/${CARD_VCT}`] },
    claims: [
      ...CARD_CLAIMS.map((c) => ({ path: [c] })),
      ...["health", "pension", "employment"].map((k) => ({ path: ["social_insurance", k], values: INSURED })),
    ],
  };
}

/**
 * @param {string} issuer
 * @param {string} code
 * @returns {CredentialQuery}
 */
function courseQuery(issuer, code) {
  return {
    id: `course_${code.replace(/-/g, "_")}`,
    format: "dc+sd-jwt",
    meta: { vct_values: [`${issuer}/vct/${CERTIFICATE_VCT}`] },
    // technician_id: the gate joins a certificate to the card by the holder's 技能者ID, not by a name
    claims: [
      { path: ["course_code"], values: [code] },
      { path: ["course_name"] },
      { path: ["completed_on"] },
      { path: ["holder_name"] },
      { path: ["technician_id"] },
    ],
  };
}

/**
 * The site default requirement of a kind of work (wallet/gate/requirements.py default_dcql).
 * @param {string} issuer
 * @param {string} workKind
 * @returns {{ credentials: CredentialQuery[] }}
 */
export function defaultDcql(issuer, workKind) {
  const courses = (WORK_KINDS[workKind] || WORK_KINDS.general)[2];
  return { credentials: [cardQuery(issuer), ...courses.map((c) => courseQuery(issuer, c))] };
}

/**
 * Plain words for a credential query: the course's certificate, else the card. [ja, en]
 * @param {CredentialQuery} query
 * @returns {[string, string]}
 */
export function describe(query) {
  for (const claim of query.claims || []) {
    if (Array.isArray(claim.path) && claim.path.length === 1 && claim.path[0] === "course_code" && Array.isArray(claim.values) && claim.values.length) {
      const code = String(claim.values[0]);
      const [ja, en] = COURSES[code] || [code, code];
      return [`${ja}の修了証`, `the ${en} certificate`];
    }
  }
  return ["建設キャリアアップカード", "the CCUS card"];
}

/**
 * DCQL claims path (§7): strings select object members, integers array elements. [present, value]
 * @param {any} claims
 * @param {(string | number)[]} path
 * @returns {[boolean, any]}
 */
export function claimAt(claims, path) {
  let node = claims;
  for (const step of path) {
    if (node && typeof node === "object" && !Array.isArray(node) && typeof step === "string") {
      if (!Object.prototype.hasOwnProperty.call(node, step)) return [false, null];
      node = node[step];
    } else if (Array.isArray(node) && typeof step === "number" && Number.isInteger(step) && step >= 0 && step < node.length) {
      node = node[step];
    } else {
      return [false, null];
    }
  }
  return [true, node];
}

/**
 * @param {unknown} a
 * @param {unknown} b
 */
function sameValue(a, b) {
  return a === b || (typeof a === "object" && a !== null && JSON.stringify(a) === JSON.stringify(b));
}

/**
 * null if the credential answers the query, else "vct" or the claim path that is missing or wrong.
 * @param {CredentialQuery} query
 * @param {unknown} vct
 * @param {any} claims
 * @returns {string | null}
 */
export function satisfies(query, vct, claims) {
  const accepted = query.meta && Array.isArray(query.meta.vct_values) ? query.meta.vct_values : null;
  if (accepted && !accepted.includes(/** @type {string} */ (vct))) return "vct";
  for (const claim of query.claims || []) {
    const [present, value] = claimAt(claims, claim.path);
    if (!present) return claim.path.join(".");
    if (Array.isArray(claim.values) && !claim.values.some((v) => sameValue(v, value))) return claim.path.join(".");
  }
  return null;
}

/**
 * { ja, en }: the reason a query is not answered (wallet/gate/requirements.py missing_reason).
 * @param {CredentialQuery} query
 * @param {string | null | undefined} problem
 * @returns {{ ja: string, en: string }}
 */
export function missingReason(query, problem) {
  const [ja, en] = describe(query);
  if (problem && problem.startsWith("social_insurance")) {
    return { ja: "社会保険の加入が確認できません", en: "social insurance enrolment is not confirmed" };
  }
  if (problem === null || problem === undefined || problem === "vct") return { ja: `${ja}がありません`, en: `${en} is missing` };
  if (problem === "technician_id" && ja.endsWith("修了証")) {
    return { ja: `${ja}に技能者IDがありません（ウォレットで受け取り直してください）`, en: `${en} carries no technician ID (receive it again in the wallet)` };
  }
  return { ja: `${ja}の必要な項目（${problem}）が提示されていません`, en: `${en} lacks ${problem}` };
}

/**
 * Top-level claim names a wallet must disclose for this query, in the query's order (everything else
 * stays hidden).
 * @param {CredentialQuery} query
 * @returns {string[]}
 */
export function revealedClaims(query) {
  return [...new Set((query.claims || []).map((c) => String(c.path[0])))];
}

/**
 * `kind` when it is one of WORK_KINDS, else "general".
 * @param {string} kind
 * @returns {string}
 */
export function knownWorkKind(kind) {
  return Object.prototype.hasOwnProperty.call(WORK_KINDS, kind) ? kind : "general";
}
