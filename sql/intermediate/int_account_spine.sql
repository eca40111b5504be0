-- One row per customer account known to any system: the help-desk organization, the Stripe
-- customer and the org id of the request logs, linked by the org id that the help desk keeps
-- as `external_id` and Stripe as `metadata.org_id`. Unmatched accounts are listed, not dropped,
-- with `match_status` saying what is missing.
-- The keys are free text typed by people: they are compared trimmed, and a key claimed by more
-- than one help-desk organization or more than one Stripe customer is quarantined
-- (`match_status = 'duplicate_key'`, no organization or customer linked, the claimants listed
-- in `conflicting_ids`): linking it would show one customer's billing or traffic in another's
-- evidence. The blocking check `account_key_unique` fails on such rows.
with helpdesk_all as (
    select trim(external_id) as org_id, organization_id, organization_name
    from staging.stg_zendesk__organizations
    where nullif(trim(external_id), '') is not null
),
billing_all as (
    -- A Stripe customer without metadata.org_id cannot be linked; keep it under its own id.
    select coalesce(nullif(trim(org_id), ''), 'stripe:' || customer_id) as org_id, customer_id,
           customer_name
    from staging.stg_stripe__customers
),
claims as (
    select org_id, 'zendesk_organization:' || organization_id as claimant, 'zendesk' as system
    from helpdesk_all
    union all
    select org_id, 'stripe_customer:' || customer_id as claimant, 'stripe' as system
    from billing_all
),
conflicts as (
    select org_id, list_sort(list(claimant)) as conflicting_ids
    from claims
    group by org_id
    having count(*) filter (where system = 'zendesk') > 1
        or count(*) filter (where system = 'stripe') > 1
),
helpdesk as (
    select * from helpdesk_all where org_id not in (select org_id from conflicts)
),
billing as (
    select * from billing_all where org_id not in (select org_id from conflicts)
),
traffic as (
    select distinct org_id from staging.stg_clickhouse__org_hours
),
accounts as (
    select org_id from helpdesk_all
    union select org_id from billing_all
    union select org_id from traffic
)
select
    a.org_id,
    h.organization_id as zendesk_organization_id,
    coalesce(h.organization_name, b.customer_name) as organization_name,
    b.customer_id as stripe_customer_id,
    t.org_id is not null as has_traffic,
    case
        when c.org_id is not null then 'duplicate_key'
        when h.organization_id is null then 'no_helpdesk_organization'
        when b.customer_id is null then 'no_stripe_customer'
        when t.org_id is null then 'no_traffic'
        else 'matched'
    end as match_status,
    c.conflicting_ids
from accounts a
left join helpdesk h using (org_id)
left join billing b using (org_id)
left join traffic t using (org_id)
left join conflicts c using (org_id)
