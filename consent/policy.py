"""Disclosure policies as data (Cedar, evaluated in-process with cedarpy).

The policy set and schema are read from ``policies/`` once and reused; the field groups of one
request are evaluated in one batch. Changing a policy file changes behaviour without a code change.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from common.errors import GenbaError
from consent.groups import ALL_GROUPS, FieldGroup
from consent.ports import Party, Relationship

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "policies"
POLICY_FILE = "disclosure.cedar"
SCHEMA_FILE = "genba.cedarschema"
PRINCIPAL_TYPES = {
    "technician": "Technician",
    "company": "Company",
    "orderer": "Orderer",
    "client": "Client",
    "operator": "Operator",
}
CACHE_SIZE = 16384
SCOPED_HISTORY_RULES = ("site-upper-tiers-see-roster", "orderer-sees-own-project-roster-and-attendance")


class PolicyError(GenbaError, ValueError):
    """The policy files do not parse or do not validate against the schema (the operator's to fix)."""


@dataclass(frozen=True)
class Evaluation:
    allowed: frozenset[str]
    rules_by_group: dict[str, tuple[str, ...]]
    forbidden: frozenset[str]


def validate(directory: Path = DEFAULT_DIR) -> list[str]:
    """Validate the policies against the schema; returns the errors (empty when valid)."""
    schema = cedarpy.Schema.from_str((directory / SCHEMA_FILE).read_text())
    result = cedarpy.validate_policies((directory / POLICY_FILE).read_text(), schema)
    return [] if result.validation_passed else [str(e) for e in result.errors]


class PolicyEngine:
    def __init__(self, directory: Path = DEFAULT_DIR) -> None:
        errors = validate(directory)
        if errors:
            raise PolicyError("; ".join(errors))
        text = (directory / POLICY_FILE).read_text()
        self._policies = cedarpy.PolicySet.from_str(text)
        self._reads_principal = reads_principal(json.loads(cedarpy.policies_to_json_str(text)))
        groups = [
            {"uid": {"type": "Genba::FieldGroup", "id": g}, "attrs": {"name": g}, "parents": []} for g in ALL_GROUPS
        ]
        self._entities = cedarpy.Entities.from_json_str(json.dumps(groups))
        self._cache: dict[tuple[object, ...], Evaluation] = {}
        self._lock = threading.Lock()

    def evaluate(
        self, principal: Party, relationship: Relationship, groups: tuple[str, ...], consented: frozenset[str]
    ) -> Evaluation:
        """One batch for all requested groups; each answer carries the @id of the deciding rules.

        Cedar answers depend only on the request (principal, groups, context), never on time or
        stored data, so identical requests are answered from a bounded cache of this policy set.
        When no policy reads the principal (:func:`reads_principal`), the principal is left out of
        the cache key: every principal with the same relationship and consents gets the same answer
        (issue 14: a cache per principal missed for each new principal, a Cedar batch each time)."""
        key = (
            (principal.kind, principal.id) if self._reads_principal else None,
            groups,
            relationship.is_self,
            relationship.current_employer,
            bool(relationship.upper_tier_sites),
            bool(relationship.orderer_sites),
            consented,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = self._evaluate(principal, relationship, groups, consented)
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = result
        return result

    def _evaluate(
        self, principal: Party, relationship: Relationship, groups: tuple[str, ...], consented: frozenset[str]
    ) -> Evaluation:
        ptype = PRINCIPAL_TYPES[principal.kind]
        context = json.dumps(  # once for the batch: a dict would be serialised once per request
            {
                "isSelf": relationship.is_self,
                "isCurrentEmployer": relationship.current_employer,
                "isUpperTierOnActiveSite": bool(relationship.upper_tier_sites),
                "isOrdererOfActiveProject": bool(relationship.orderer_sites),
                "consentedGroups": sorted(consented),
            }
        )
        principal_uid = f"Genba::{ptype}::{json.dumps(principal.id)}"
        requests = [
            {
                "principal": principal_uid,
                "action": 'Genba::Action::"view"',
                "resource": f"Genba::FieldGroup::{json.dumps(g)}",
                "context": context,
            }
            for g in groups
        ]
        results = cedarpy.is_authorized_batch(requests, self._policies, self._entities)
        allowed: set[str] = set()
        forbidden: set[str] = set()
        rules: dict[str, tuple[str, ...]] = {}
        for group, result in zip(groups, results, strict=True):
            ids = result.diagnostics.id_annotations_by_reason
            rules[group] = tuple(sorted(ids.get(r, r) for r in result.diagnostics.reasons))
            if result.allowed:
                allowed.add(group)
            elif rules[group]:
                forbidden.add(group)
        return Evaluation(frozenset(allowed), rules, frozenset(forbidden))


def reads_principal(policies: dict[str, Any]) -> bool:
    """Whether any policy's answer can depend on the principal: a principal constraint in its scope,
    the ``principal`` variable anywhere in its conditions, or templates (whose slots bind it).

    Principals carry no attributes or parents here (the entities are the field groups alone), so a
    policy set for which this is ``False`` gives every principal the same answer for the same
    resource and context."""
    if policies.get("templates") or policies.get("templateLinks"):
        return True
    return any(
        policy["principal"] != {"op": "All"} or _mentions_principal(policy.get("conditions", []))
        for policy in policies.get("staticPolicies", {}).values()
    )


def _mentions_principal(node: object) -> bool:
    if isinstance(node, dict):
        return node.get("Var") == "principal" or any(_mentions_principal(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_principal(v) for v in node)
    return False


def history_scope(evaluation: Evaluation, relationship: Relationship) -> tuple[str, ...] | None:
    """Work history is limited to the principal's own sites unless a rule other than the site/orderer
    rules allowed it (then ``None``: the whole history)."""
    rules = set(evaluation.rules_by_group.get(FieldGroup.work_history, ()))
    if FieldGroup.work_history not in evaluation.allowed or rules - set(SCOPED_HISTORY_RULES):
        return None
    return tuple(sorted(set(relationship.upper_tier_sites) | set(relationship.orderer_sites)))
