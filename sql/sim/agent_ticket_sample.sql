-- The tickets a per-ticket agent loop may look at (altor_sim/bench/per_ticket.py): every ticket
-- the batch investigated, with its customer's log org, Stripe customer, subject and
-- investigation time. The loop takes an evenly spread sample of them.
SELECT ticket_id, coalesce(org_id, '') AS org_id, stripe_customer_id, subject, investigated_at
FROM intermediate.int_ticket_investigations
ORDER BY ticket_id
