-- billing_issue: the account's billing was in trouble at the investigation time.
-- Score: subscription in a non-paying state 0.9; an invoice past due 0.85; a failed charge in
-- the 30 days before with no successful charge since 0.75; an unpaid invoice whose payment was
-- attempted 0.6 (the strongest applies). Evidence: the subscription, invoice and charge.
WITH f AS (SELECT * FROM features.fct_ticket_features),
fired AS (
    SELECT *,
        subscription_status IN ('past_due', 'unpaid', 'canceled', 'incomplete',
                                'incomplete_expired', 'paused') AS bad_subscription,
        past_due_invoices > 0 AS past_due,
        failed_charges_30d > 0 AND NOT succeeded_after_last_failure AS failed_charge,
        unpaid_invoices > 0 AND coalesce(max_attempt_count, 0) > 0 AS attempted_unpaid
    FROM f
)
SELECT
    ticket_id,
    'billing_issue' AS cause,
    greatest(
        CASE WHEN bad_subscription THEN 0.9 ELSE 0 END,
        CASE WHEN past_due THEN 0.85 ELSE 0 END,
        CASE WHEN failed_charge THEN 0.75 ELSE 0 END,
        CASE WHEN attempted_unpaid THEN 0.6 ELSE 0 END) AS score,
    list_filter([
        CASE WHEN bad_subscription OR subscription_id IS NOT NULL AND (past_due OR failed_charge)
        THEN {'source': 'stripe_subscription', 'object_id': subscription_id,
              'summary': printf('Subscription %s was %s at the ticket''s time (for %.1f days)',
                                subscription_id, subscription_status,
                                days_in_subscription_status),
              'link': 'https://dashboard.stripe.com/subscriptions/' || subscription_id,
              'reproducing_query': 'GET /v1/subscriptions/' || subscription_id,
              'query_parameters': NULL} END,
        CASE WHEN unpaid_invoices > 0
        THEN {'source': 'stripe_invoice', 'object_id': worst_invoice_id,
              'summary': printf('Invoice %s of %.2f %s unpaid at the ticket''s time%s (%d unpaid invoice(s), %d past due)',
                                worst_invoice_id, worst_invoice_amount / 100.0,
                                upper(coalesce(worst_invoice_currency, '')),
                                CASE WHEN max_days_past_due IS NOT NULL
                                     THEN printf(', %.1f days past due', max_days_past_due)
                                     ELSE '' END,
                                unpaid_invoices, past_due_invoices),
              'link': 'https://dashboard.stripe.com/invoices/' || worst_invoice_id,
              'reproducing_query': 'GET /v1/invoices/' || worst_invoice_id,
              'query_parameters': NULL} END,
        CASE WHEN failed_charge
        THEN {'source': 'stripe_charge', 'object_id': last_failed_charge_id,
              'summary': printf('Charge %s of %.2f %s failed %.1f days before the ticket: %s (%s); %d failed charge(s) in 30 days',
                                last_failed_charge_id, last_failed_amount / 100.0,
                                upper(coalesce(last_failed_currency, '')),
                                days_since_failed_charge, coalesce(last_failure_code, 'no code'),
                                coalesce(last_decline_reason, 'no reason'), failed_charges_30d),
              'link': 'https://dashboard.stripe.com/payments/' || last_failed_charge_id,
              'reproducing_query': 'GET /v1/charges/' || last_failed_charge_id,
              'query_parameters': NULL} END
    ], lambda e: e IS NOT NULL) AS evidence
FROM fired
WHERE bad_subscription OR past_due OR failed_charge OR attempted_unpaid
