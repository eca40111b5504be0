-- Facts about the objects a ticket's evidence cites, as of $as_of, to fill a reply's slots:
-- a Linear issue's state (and completion), a deploy's service and the next deploy of that
-- service after it (the revert or fix), an invoice's amount and status, a subscription's plan
-- and its rate limit. $ids: the cited object ids (VARCHAR[]).
WITH ids AS (SELECT unnest(CAST($ids AS VARCHAR[])) AS object_id),
deploys AS (
    SELECT d.deployment_id, d.service, d.created_at,
           lead(d.deployment_id) OVER w AS next_deployment_id,
           lead(d.created_at) OVER w AS next_created_at
    FROM staging.stg_github__deployments AS d
    WHERE d.created_at <= CAST($as_of AS TIMESTAMP)
    WINDOW w AS (PARTITION BY d.service, d.environment ORDER BY d.created_at, d.deployment_id)
)
SELECT 'linear' AS kind, i.identifier AS object_id,
       i.state_name AS state, CAST(i.completed_at AS VARCHAR) AS detail_at,
       i.title AS title, NULL::VARCHAR AS amount, i.url AS link
FROM staging.stg_linear__issues AS i JOIN ids ON ids.object_id = i.identifier
UNION ALL
SELECT 'github_deployment', CAST(d.deployment_id AS VARCHAR), d.service,
       CAST(d.next_created_at AS VARCHAR), CAST(d.next_deployment_id AS VARCHAR), NULL, NULL
FROM deploys AS d JOIN ids ON ids.object_id = CAST(d.deployment_id AS VARCHAR)
UNION ALL
SELECT 'stripe_invoice', v.invoice_id, v.status, CAST(v.due_at AS VARCHAR), NULL,
       printf('%.2f %s', v.amount_due / 100.0, upper(v.currency)), NULL
FROM staging.stg_stripe__invoices AS v JOIN ids ON ids.object_id = v.invoice_id
UNION ALL
SELECT 'stripe_subscription', s.subscription_id, s.status, NULL, p.product_name,
       CAST(coalesce(pr.rate_limit_per_minute, p.rate_limit_per_minute) AS VARCHAR), NULL
FROM staging.stg_stripe__subscriptions AS s
JOIN ids ON ids.object_id = s.subscription_id
LEFT JOIN staging.stg_stripe__prices AS pr ON pr.price_id = s.price_id
LEFT JOIN staging.stg_stripe__products AS p ON p.product_id = s.product_id
