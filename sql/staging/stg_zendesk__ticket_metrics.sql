SELECT
    CAST(id AS BIGINT) AS ticket_metric_id,
    CAST(ticket_id AS BIGINT) AS ticket_id,
    CAST(replies AS INTEGER) AS replies,
    CAST(reopens AS INTEGER) AS reopens,
    CAST(group_stations AS INTEGER) AS group_stations,
    CAST(assignee_stations AS INTEGER) AS assignee_stations,
    CAST(reply_time_in_minutes__calendar AS BIGINT) AS first_reply_time_calendar_minutes,
    CAST(reply_time_in_minutes__business AS BIGINT) AS first_reply_time_business_minutes,
    CAST(first_resolution_time_in_minutes__calendar AS BIGINT)
        AS first_resolution_time_calendar_minutes,
    CAST(first_resolution_time_in_minutes__business AS BIGINT)
        AS first_resolution_time_business_minutes,
    CAST(full_resolution_time_in_minutes__calendar AS BIGINT)
        AS full_resolution_time_calendar_minutes,
    CAST(full_resolution_time_in_minutes__business AS BIGINT)
        AS full_resolution_time_business_minutes,
    timezone('UTC', solved_at) AS solved_at,
    timezone('UTC', updated_at) AS updated_at
FROM raw_zendesk.ticket_metrics
