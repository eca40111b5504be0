-- Production deploys and when each went live: its first `success` deployment status (a deploy
-- created but still in progress or failed is not live). One row per deployment.
SELECT d.deployment_id, d.service, d.sha, d.url, d.created_at,
    min(s.created_at) AS deployed_at
FROM staging.stg_github__deployments AS d
JOIN staging.stg_github__deployment_statuses AS s
    ON s.deployment_id = d.deployment_id AND s.state = 'success'
WHERE d.environment = 'production'
GROUP BY ALL
