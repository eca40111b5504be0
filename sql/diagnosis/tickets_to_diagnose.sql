-- The tickets the scheduled diagnosis scores: those the last investigation rebuilt
-- (intermediate.int_ticket_investigations) and any ticket with features but no diagnosis by
-- the serving model version ($model_version). The others' features and model are unchanged, so
-- their diagnoses stand.
SELECT ticket_id FROM intermediate.int_ticket_investigations
UNION
SELECT f.ticket_id
FROM features.fct_ticket_features AS f
ANTI JOIN (SELECT ticket_id FROM diagnosis.diagnoses WHERE model_version = $model_version) AS d
    USING (ticket_id)
ORDER BY ticket_id
