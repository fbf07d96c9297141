"""The site gate: requirements as DCQL, online (OpenID4VP 1.0) and offline presentations, verification,
and entry/exit records that feed work history (就業履歴)."""
