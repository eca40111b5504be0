-- Deployments of the last day that the warehouse holds without a terminal status ($terminal:
-- sources/github.py TERMINAL_STATES): their outcome is still to come, on a deployment that need
-- not be the newest, which GitHub's change mark (sources/change_marks.py) does not look at.
SELECT count(*)
FROM staging.stg_github__deployments AS d
WHERE d.created_at >= CAST($now AS TIMESTAMP) - INTERVAL 1 DAY
  AND NOT EXISTS (
      SELECT 1 FROM staging.stg_github__deployment_statuses AS s
      WHERE s.deployment_id = d.deployment_id
        AND list_contains($terminal, s.state))
