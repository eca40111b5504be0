-- Check of intermediate.int_account_spine (defs/checks_accounts.py): org ids (the key linking
-- help desk, Stripe and logs) claimed by two help-desk organizations or two Stripe customers.
-- Grain: one row per spine row with such a key.
SELECT org_id, conflicting_ids FROM intermediate.int_account_spine
WHERE match_status = 'duplicate_key' OR org_id IN (
    SELECT org_id FROM intermediate.int_account_spine GROUP BY org_id
    HAVING count(*) > 1)
ORDER BY org_id
