-- Every object id a reply may cite, with the kind of slot it fills: the playbook tells a
-- ticket-specific span (an id of a Linear issue, deployment, invoice, charge, subscription)
-- from fixed wording by looking the span up here, not by guessing from its shape.
SELECT identifier AS object_id, 'linear' AS kind FROM staging.stg_linear__issues
UNION ALL SELECT CAST(deployment_id AS VARCHAR), 'github_deployment' FROM staging.stg_github__deployments
UNION ALL SELECT invoice_id, 'stripe_invoice' FROM staging.stg_stripe__invoices
UNION ALL SELECT charge_id, 'stripe_charge' FROM staging.stg_stripe__charges
UNION ALL SELECT subscription_id, 'stripe_subscription' FROM staging.stg_stripe__subscriptions
