"""Per-ticket investigation: `build` runs the point-in-time features, heuristic rules and
evidence (sql/intermediate, sql/features, sql/heuristics) for all tickets or a few;
`one_ticket` investigates and diagnoses one ticket on demand (`altor investigate`)."""
