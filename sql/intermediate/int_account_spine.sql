-- One row per customer account known to any system: the help-desk organization, the Stripe
-- customer and the org id of the request logs, linked by the org id that the help desk keeps
-- as `external_id` and Stripe as `metadata.org_id`. Unmatched accounts are listed, not dropped,
-- with `match_status` saying what is missing.
with helpdesk as (
    select external_id as org_id, organization_id, organization_name
    from staging.stg_zendesk__organizations
    where external_id is not null
),
billing as (
    -- A Stripe customer without metadata.org_id cannot be linked; keep it under its own id.
    select coalesce(org_id, 'stripe:' || customer_id) as org_id, customer_id, customer_name
    from staging.stg_stripe__customers
),
traffic as (
    select distinct org_id from staging.stg_clickhouse__request_minutes
),
accounts as (
    select org_id from helpdesk
    union select org_id from billing
    union select org_id from traffic
)
select
    a.org_id,
    h.organization_id as zendesk_organization_id,
    coalesce(h.organization_name, b.customer_name) as organization_name,
    b.customer_id as stripe_customer_id,
    t.org_id is not null as has_traffic,
    case
        when h.organization_id is null then 'no_helpdesk_organization'
        when b.customer_id is null then 'no_stripe_customer'
        when t.org_id is null then 'no_traffic'
        else 'matched'
    end as match_status
from accounts a
left join helpdesk h using (org_id)
left join billing b using (org_id)
left join traffic t using (org_id)
