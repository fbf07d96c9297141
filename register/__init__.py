"""The CCUS register around technicians: record details, sites and tiers, assignments, work history,
and the consent engine's view of it (``directory``), the data API and roster export."""
