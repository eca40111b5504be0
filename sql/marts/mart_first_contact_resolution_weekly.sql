-- First-contact resolution, one-touch, two-touch and reopens per week of ticket creation
-- (Monday weeks, UTC) and period: the week that holds go-live has a row before and one after.
-- Denominator of the rates: solved tickets (status solved or closed), as Zendesk's "% one-touch
-- tickets"; in-scope tickets only (not deleted, not merged).
SELECT
    created_week AS week_start,
    period,
    count(*) AS tickets,
    count(*) FILTER (WHERE is_solved) AS solved_tickets,
    count(*) FILTER (WHERE is_first_contact_resolution) AS first_contact_resolved_tickets,
    count(*) FILTER (WHERE is_one_touch_resolution) AS one_touch_tickets,
    count(*) FILTER (WHERE is_two_touch_resolution) AS two_touch_tickets,
    count(*) FILTER (WHERE is_multi_touch_resolution) AS multi_touch_tickets,
    count(*) FILTER (WHERE is_solved AND is_reopened) AS reopened_tickets,
    count(*) FILTER (WHERE is_first_contact_resolution)
        / nullif(count(*) FILTER (WHERE is_solved), 0) AS first_contact_resolution_rate,
    count(*) FILTER (WHERE is_one_touch_resolution)
        / nullif(count(*) FILTER (WHERE is_solved), 0) AS one_touch_rate,
    count(*) FILTER (WHERE is_two_touch_resolution)
        / nullif(count(*) FILTER (WHERE is_solved), 0) AS two_touch_rate,
    count(*) FILTER (WHERE is_solved AND is_reopened)
        / nullif(count(*) FILTER (WHERE is_solved), 0) AS reopen_rate
FROM marts.mart_ticket_outcomes
WHERE is_in_scope
GROUP BY created_week, period
