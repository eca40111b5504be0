-- Ticket field changes made before $as_of (a backtest window's start).
SELECT * FROM staging.stg_zendesk__ticket_field_history
WHERE updated_at < CAST($as_of AS TIMESTAMP)
